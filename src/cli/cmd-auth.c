/* enclave auth login <provider> | list | logout <provider>
 *
 * login reads the token from a hidden prompt (or from stdin when it is
 * not a terminal) — never from argv, so it never shows in `ps` — and
 * sends it to the daemon in the auth.login request, which stores it as
 * <state_dir>/auth/<provider>.token (root, 0600). */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "auth/token-input.h"
#include "auth/token-store.h"
#include "spec/values.h"
#include "base/str.h"

#include <malloc.h>
#include <signal.h>
#include <string.h>

/* ---- keeping the token out of freed memory ---- */

static void *wiping_malloc(size_t n)
{
        return malloc(n);
}

static void wiping_free(void *p)
{
        if (!p)
                return;
        explicit_wipe(p, malloc_usable_size(p));
        free(p);
}

/* Every buffer jansson uses from now on (the token string, the
 * serialised request, their intermediate copies) is wiped when freed.
 * This process runs one command, so the switch is safe: blocks
 * allocated earlier came from the same malloc. */
static void json_wipe_on_free(void)
{
        json_set_alloc_funcs(wiping_malloc, wiping_free);
}

/* ---- arguments ---- */

/* The provider argument, known. */
static int provider_argument(Cli *cli, const CliArgs *a, const char **ret)
{
        _cleanup_error_ Error err = ERROR_INIT;
        const char *p = cli_arg(a, "PROVIDER");
        if (auth_provider_check(p, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        *ret = p;
        return 0;
}

static char *names_joined(const char *provider)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        const char *const *names = auth_provider_token_names(provider);
        for (size_t i = 0; names && names[i]; i++) {
                if (i > 0)
                        strbuf_puts(&b, ", ");
                strbuf_puts(&b, names[i]);
        }
        return b.len ? strbuf_steal(&b) : strdup("-");
}

/* ---- login ---- */

/* The token as a JSON string we keep a reference to, so its bytes can
 * be wiped after the request is sent whatever happened. */
typedef struct TokenJson {
        json_t *s;
} TokenJson;

static void token_json_done(TokenJson *t)
{
        if (!t->s)
                return;
        explicit_wipe((char *) json_string_value(t->s), json_string_length(t->s));
        json_decref(t->s);
        t->s = NULL;
}

static int read_token(Cli *cli, const char *provider, AuthToken *tok)
{
        char prompt[96];
        snprintf(prompt, sizeof prompt, "%s token (input hidden): ", provider);
        _cleanup_error_ Error err = ERROR_INIT;
        int sig = 0;
        if (auth_read_token(STDIN_FILENO, STDERR_FILENO, prompt, tok, &sig, &err) >= 0)
                return 0;
        if (sig > 0) {
                /* The terminal is restored; die of the signal as if we
                 * had never caught it. */
                auth_token_wipe(tok);
                fputc('\n', stderr);
                signal(sig, SIG_DFL);
                raise(sig);
        }
        return cli_fail(cli, "%s token refused: %s", provider, error_msg(&err));
}

static int cmd_login(Cli *cli, const CliArgs *a)
{
        const char *provider;
        int r = provider_argument(cli, a, &provider);
        if (r != 0)
                return r;
        json_wipe_on_free();

        /* Connect first: "the daemon is not running" comes before the
         * prompt, not after the user typed a token. */
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        if (client_open(cli, &c, &err) < 0)
                return cli_fail_error(cli, &err);

        _cleanup_auth_token_ AuthToken tok = {};
        r = read_token(cli, provider, &tok);
        if (r != 0)
                return r;

        _cleanup_(token_json_done) TokenJson tj = { json_stringn(tok.data, tok.len) };
        auth_token_wipe(&tok);
        json_t *params = json_pack("{s:s}", "provider", provider);
        if (!tj.s || !params || json_object_set(params, "token", tj.s) < 0) {
                json_decref(params);
                return cli_fail(cli, "out of memory");
        }
        json_t *res = NULL;
        r = client_call(c, PROTO_ACTION_AUTH_LOGIN, params, NULL, 0, NULL, NULL, &res, NULL, &err);
        token_json_done(&tj);
        if (r < 0)
                return cli_fail_error(cli, &err);
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                _cleanup_free_ char *names = names_joined(provider);
                printf("stored the %s token; workspaces that list '%s' in 'auth' get %s\n", provider, provider,
                       names ? names : "its variables");
        }
        json_decref(res);
        return EXIT_OK;
}

/* ---- list ---- */

static const char *configured_word(json_t *p)
{
        const char *state = json_string_value(json_object_get(p, "state"));
        if (state && streq(state, "configured"))
                return "yes";
        if (state && streq(state, "refused"))
                return "refused";
        return "no";
}

static int print_list(Cli *cli, json_t *providers)
{
        static const char *const headers[] = { "PROVIDER", "CONFIGURED", "ENV", NULL };
        _cleanup_table_ Table *t = table_new(headers);
        if (!t)
                return cli_fail(cli, "out of memory");
        size_t i;
        json_t *p;
        json_array_foreach(providers, i, p) {
                const char *name = json_string_value(json_object_get(p, "provider"));
                _cleanup_free_ char *names = names_joined(name ? name : "");
                const char *cells[] = { name, configured_word(p), names };
                if (table_add_row(t, cells) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, cli, stdout);
        fflush(stdout);
        json_array_foreach(providers, i, p) {
                const char *problem = json_string_value(json_object_get(p, "problem"));
                if (problem)
                        fprintf(stderr, "enclave: warning: %s\n", problem);
        }
        return EXIT_OK;
}

static int cmd_list(Cli *cli, const CliArgs *a)
{
        _cleanup_error_ Error err = ERROR_INIT;
        json_t *res = NULL;
        if (cli_call(cli, PROTO_ACTION_AUTH_LIST, NULL, &res, &err) < 0)
                return cli_fail_error(cli, &err);
        json_t *providers = json_object_get(res, "providers");
        int r = cli->json ? (json_print(providers, stdout) < 0 ? EXIT_FAIL : EXIT_OK) : print_list(cli, providers);
        json_decref(res);
        return r;
}

/* ---- logout ---- */

static int cmd_logout(Cli *cli, const CliArgs *a)
{
        const char *provider;
        int r = provider_argument(cli, a, &provider);
        if (r != 0)
                return r;
        _cleanup_error_ Error err = ERROR_INIT;
        json_t *res = NULL;
        if (cli_call(cli, PROTO_ACTION_AUTH_LOGOUT, json_pack("{s:s}", "provider", provider), &res, &err) < 0)
                return cli_fail_error(cli, &err);
        bool removed = json_is_true(json_object_get(res, "removed"));
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                if (removed)
                        printf("removed the %s token\n", provider);
                else
                        printf("no %s token was stored; nothing to remove\n", provider);
        }
        json_decref(res);
        return EXIT_OK;
}

static const CliArg provider_arg[] = {
        { "PROVIDER", .complete = CLI_COMPLETE_CHOICES, .choices = "enclave|github|npm" },
        {},
};

static const CliCommand login = {
        "login", "store a provider token (enclave, github, npm)",
        "Reads the token from a hidden prompt, or from standard input when it is not a\n"
        "terminal (e.g. 'enclave auth login github < token.txt'), and stores it for the\n"
        "daemon (root only, mode 0600). Workspaces that list the provider in 'auth' get it.",
        NULL, provider_arg, .run = cmd_login,
};

static const CliCommand list = {
        "list", "show which providers have a token",
        "Shows which providers have a stored token (never the token).",
        .run = cmd_list,
};

static const CliCommand logout = {
        "logout", "remove a provider token",
        "Removes the stored token of a provider.",
        NULL, provider_arg, .run = cmd_logout,
};

const CliCommand cli_group_auth = {
        "auth", "manage provider tokens",
        .sub = (const CliCommand *const[]) { &login, &list, &logout, NULL },
};
