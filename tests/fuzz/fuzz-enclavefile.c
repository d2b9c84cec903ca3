/* libFuzzer target: the whole Enclavefile pipeline (TOML parser, model,
 * validation, JSON and text output) over arbitrary bytes. Relative
 * paths resolve against "/", so the only filesystem access is realpath()
 * and stat() of existing host paths; nothing is created or written. */
#include "config/enclavefile.h"
#include "config/settings.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise_model(const Enclavefile *ef)
{
        char digest[SHA256_HEX_SIZE];
        spec_setup_digest(ef->sandbox.setup, digest);
        json_t *j = enclavefile_to_json(ef);
        if (!j)
                abort();
        char *s = json_dumps(j, 0);
        free(s);
        json_decref(j);
        free(enclavefile_format(ef));
        for (size_t i = 0; i < ef->n_workspaces; i++)
                if (enclavefile_find_workspace(ef, ef->workspaces[i].name) == NULL)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        Diagnostics diag = DIAGNOSTICS_INIT;
        Enclavefile *ef = NULL;
        int r = enclavefile_parse_buffer((const char *) data, size, "Enclavefile", "/", &ef, &diag);
        if (r == 0) {
                if (!ef || diagnostics_count(&diag) != 0)
                        abort();
                exercise_model(ef);
        } else if (r == -EINVAL && diagnostics_count(&diag) == 0)
                abort(); /* every rejection must say why */
        free(diagnostics_format(&diag));
        enclavefile_free(ef);
        diagnostics_done(&diag);

        /* The same bytes as a config.toml. */
        Settings s;
        if (settings_defaults(&s) == 0) {
                (void) settings_parse_buffer((const char *) data, size, "config.toml", &s, &diag);
                settings_done(&s);
        }
        diagnostics_done(&diag);
        return 0;
}
