#include "storage/debootstrap-progress.h"

#include "base/str.h"

#include <string.h>

typedef struct StageWord {
        const char *word;
        ProgressStage stage;
        bool dots; /* the package name ends with "..." */
} StageWord;

static const StageWord stage_words[] = {
        { "Retrieving ", PROGRESS_STAGE_RETRIEVING, false },
        { "Validating ", PROGRESS_STAGE_VALIDATING, false },
        { "Extracting ", PROGRESS_STAGE_EXTRACTING, true },
        { "Unpacking ", PROGRESS_STAGE_UNPACKING, true },
        { "Configuring ", PROGRESS_STAGE_CONFIGURING, true },
};

static void copy_trimmed(char *dst, size_t size, const char *src)
{
        size_t n = strlen(src);
        while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\t'))
                n--;
        if (n >= size)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
}

static uint64_t *counter_of(DebootstrapParser *p, ProgressStage s)
{
        switch (s) {
        case PROGRESS_STAGE_RETRIEVING:
                return &p->retrieved;
        case PROGRESS_STAGE_VALIDATING:
                return &p->validated;
        case PROGRESS_STAGE_EXTRACTING:
                return &p->extracted;
        case PROGRESS_STAGE_UNPACKING:
                return &p->unpacked;
        case PROGRESS_STAGE_CONFIGURING:
                return &p->configured;
        default:
                return NULL;
        }
}

/* "libc6 2.36" (retrieving) or "libc6:amd64..." (unpacking): one package,
 * so it counts; "the base system..." or "Packages" do not. */
static bool parse_package(const StageWord *w, const char *rest, char *item, size_t size)
{
        size_t name_len = strcspn(rest, " ");
        if (name_len == 0 || name_len >= size)
                return false;
        const char *after = rest + name_len;
        if (w->dots) {
                if (*after != 0 || name_len <= 3 || !endswith(rest, "..."))
                        return false;
                name_len -= 3;
        } else {
                /* name, one version token, nothing more */
                if (*after != ' ' || after[1] == 0 || strchr(after + 1, ' '))
                        return false;
        }
        memcpy(item, rest, name_len);
        item[name_len] = 0;
        return true;
}

int debootstrap_parse_line(DebootstrapParser *p, const char *line, StorageProgress *ret)
{
        *ret = (StorageProgress) { .stage = PROGRESS_STAGE_INFO, .message = p->message };
        p->item[0] = 0;
        if (!line || !*line)
                return 0;

        const char *text = line;
        ProgressStage level = PROGRESS_STAGE_INFO;
        const char *t;
        if ((t = startswith(line, "I: ")))
                text = t;
        else if ((t = startswith(line, "W: "))) {
                text = t;
                level = PROGRESS_STAGE_WARNING;
        } else if ((t = startswith(line, "E: "))) {
                text = t;
                level = PROGRESS_STAGE_ERROR;
        }
        copy_trimmed(p->message, sizeof p->message, text);
        ret->stage = level;
        if (level != PROGRESS_STAGE_INFO || text == line)
                return 1;

        for (size_t i = 0; i < ELEMENTSOF(stage_words); i++) {
                const StageWord *w = &stage_words[i];
                const char *rest = startswith(p->message, w->word);
                if (!rest)
                        continue;
                ret->stage = w->stage;
                uint64_t *counter = counter_of(p, w->stage);
                if (parse_package(w, rest, p->item, sizeof p->item)) {
                        ret->item = p->item;
                        (*counter)++;
                } else if (!w->dots && !strchr(rest, ' ')) {
                        copy_trimmed(p->item, sizeof p->item, rest); /* an index file */
                        ret->item = p->item;
                }
                ret->done = *counter;
                if (w->stage == PROGRESS_STAGE_UNPACKING || w->stage == PROGRESS_STAGE_CONFIGURING) {
                        ret->total = p->retrieved;
                        if (ret->done > ret->total)
                                ret->total = 0; /* more than we saw: unknown */
                }
                break;
        }
        return 1;
}
