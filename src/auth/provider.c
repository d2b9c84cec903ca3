#include "auth/provider.h"
#include "config/values.h"
#include "base/str.h"

const char *auth_providers_list(void)
{
        return "enclave, github, npm";
}

int auth_provider_check(const char *provider, Error *err)
{
        if (!provider || !provider[0])
                return error_set(err, EINVAL, "no auth provider given; the providers are: %s", auth_providers_list());
        if (auth_provider_is_known(provider))
                return 0;
        size_t n = 0;
        while (auth_providers[n])
                n++;
        /* The name is echoed back only when it is short and printable:
         * someone may paste a token where the provider belongs. */
        bool show = strlen(provider) <= 32;
        for (const char *p = provider; show && *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        show = false;
        const char *best = closest_match(provider, auth_providers, n);
        if (best)
                return error_set(err, EINVAL, "unknown auth provider '%s'; did you mean '%s'? The providers are: %s",
                                 show ? provider : "?", best, auth_providers_list());
        return error_set(err, EINVAL, "unknown auth provider%s%s%s; the providers are: %s", show ? " '" : "",
                         show ? provider : "", show ? "'" : "", auth_providers_list());
}
