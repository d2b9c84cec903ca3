/* URL checks shared by the CLI and the fetcher; no libcurl here, so the
 * CLI can check a URL before sending it without linking libcurl. */
#include "storage/fetch.h"

#include "base/str.h"

#include <string.h>

int fetch_check_url(const char *url, Error *err)
{
        const char *rest = url ? (startswith(url, "http://") ?: startswith(url, "https://")) : NULL;
        if (!rest)
                return error_set(err, EINVAL, "only http:// and https:// URLs can be fetched");
        if (*rest == 0 || *rest == '/' || *rest == '@')
                return error_set(err, EINVAL, "URL has no host");
        for (const char *p = url; *p; p++)
                if (*p <= ' ' || *p == 0x7f)
                        return error_set(err, EINVAL, "URL contains a space or control character");
        if (strlen(url) > 8192)
                return error_set(err, EINVAL, "URL is too long");
        return 0;
}
