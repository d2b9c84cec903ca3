/* Value syntaxes shared by the Enclavefile, config.toml and the command
 * line: Debian suites, bootstrap methods, mirror URLs, auth providers,
 * published ports, bridge names and firewall backends (subnets are in
 * spec/address.h). Each check explains in err what is wrong and what is
 * accepted, without a position: callers add "FILE:LINE:COL" or the
 * option name. */
#pragma once

#include "base/error.h"

#define DEFAULT_SUITE "bookworm"
#define DEFAULT_MIRROR "http://deb.debian.org/debian"
#define DEFAULT_BOOTSTRAP_METHOD "debootstrap"

/* NULL-terminated lists, for messages and completion. */
extern const char *const debian_suites[];     /* bookworm bullseye trixie sid stable testing oldstable */
extern const char *const bootstrap_methods[]; /* debootstrap cached_rootfs */
extern const char *const auth_providers[];    /* enclave github npm */

bool debian_suite_is_known(const char *s);
/* A known suite (or also, when not NULL); else -EINVAL saying which are,
 * with the closest one. */
int debian_suite_check(const char *suite, const char *also, Error *err);
bool bootstrap_method_is_known(const char *s);

/* An http:// or https:// URL with a host, an optional port and path,
 * no credentials, whitespace or control characters. */
int mirror_url_check(const char *url, Error *err);

/* Auth providers (SPEC §7) and the token variables they define. */
bool auth_provider_is_known(const char *s);
/* The provider whose token variable is env_name ("GH_TOKEN" -> "github"), or NULL. */
const char *auth_token_provider(const char *env_name);
/* NULL-terminated token variable names of a provider, or NULL if unknown. */
const char *const *auth_provider_token_names(const char *provider);
/* "ENCLAVE_TOKEN, GITHUB_TOKEN, GH_TOKEN, NPM_TOKEN", for messages. */
const char *auth_token_names_list(void);
/* 0 when provider is one of auth_providers[]; otherwise -EINVAL with a
 * message naming the closest provider and listing all of them (the CLI
 * and the daemon refuse an unknown provider alike). */
int auth_provider_check(const char *provider, Error *err);
/* "enclave, github, npm" (static storage). */
const char *auth_providers_list(void);

/* A published port: always 127.0.0.1 and TCP (SPEC §6). */
typedef struct PortSpec {
        uint16_t host_port;
        uint16_t workspace_port;
} PortSpec;

#define PORT_SPEC_STRING_MAX sizeof("127.0.0.1:65535:65535/tcp")

/* "127.0.0.1:HOST:WS" with an optional "/tcp"; ports 1..65535. */
int port_spec_parse(const char *s, PortSpec *ret, Error *err);
/* "127.0.0.1:HOST" with an optional "/tcp" (port unpublish). */
int port_host_parse(const char *s, uint16_t *ret_host_port, Error *err);
/* "127.0.0.1:HOST:WS/tcp" */
void port_spec_format(const PortSpec *p, char buf[static PORT_SPEC_STRING_MAX]);

/* Network interface names as the kernel accepts them, restricted to
 * [A-Za-z0-9_.-], 1..15 characters, not "." or "..". */
bool bridge_name_is_valid(const char *s);

/* The packet filter of config.toml's `firewall` (net/firewall.h). */
typedef enum FirewallBackend {
        FIREWALL_AUTO,
        FIREWALL_NFTABLES,
        FIREWALL_IPTABLES,
        _FIREWALL_MAX,
        _FIREWALL_INVALID = -EINVAL,
} FirewallBackend;

extern const char *const firewall_backends[]; /* auto nftables iptables, NULL-terminated */
const char *firewall_backend_to_string(FirewallBackend b);
FirewallBackend firewall_backend_from_string(const char *s);
