/* tokens - digests, HMACs, password hashes and JWTs from the command line, with webfw.h.
     tokens sha256 [FILE]                       hex digest of FILE or stdin, as sha256sum prints it
     tokens sha1 [FILE]
     tokens hmac-sha256 KEY [FILE]              hex HMAC-SHA256 under KEY
     tokens hash-password [--scheme pbkdf2-sha256|bcrypt] [--rounds N]   password on stdin
     tokens verify-password HASH                password on stdin: exit 0 match, 1 not, 2 bad hash
     tokens jwt-sign SECRET CLAIMS_JSON [--exp-minutes N]
     tokens jwt-verify SECRET TOKEN [--leeway S]  claims and exit 0, or the error kind and exit 1
   Usage errors exit 2. A password read from stdin loses one trailing newline. */
#define WEBFW_IMPLEMENTATION
#define WF_NO_TESTING
#include "../webfw.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(const char *why) {
    fprintf(stderr, "tokens: %s\nusage: tokens sha256|sha1 [FILE] | hmac-sha256 KEY [FILE] | "
                    "hash-password [--scheme pbkdf2-sha256|bcrypt] [--rounds N] | verify-password HASH | "
                    "jwt-sign SECRET CLAIMS_JSON [--exp-minutes N] | jwt-verify SECRET TOKEN [--leeway S]\n",
            why);
    return 2;
}

/* Read a file (or stdin for NULL / "-") whole. */
static int slurp(const char *path, wf_buf *b) {
    FILE *f = path && strcmp(path, "-") ? fopen(path, "rb") : stdin;
    char chunk[65536];
    size_t n;
    if (!f) {
        fprintf(stderr, "tokens: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0) rc = wf_buf_append(b, chunk, n);
    if (f != stdin) fclose(f);
    return rc < 0 ? -1 : 0;
}

static void print_hex(const uint8_t *d, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++) printf("%02x", d[i]);
    printf(name ? "  %s\n" : "\n", name);
}

static int digest(int argc, char **argv, bool sha1) {
    wf_buf in = {0};
    uint8_t d[32];
    if (argc > 3) return usage("too many arguments");
    if (slurp(argc == 3 ? argv[2] : NULL, &in) < 0) return 1;
    if (sha1) wf_sha1(in.ptr, in.len, d);
    else wf_sha256(in.ptr, in.len, d);
    print_hex(d, sha1 ? 20 : 32, argc == 3 ? argv[2] : "-");
    wf_buf_free(&in);
    return 0;
}

static int hmac(int argc, char **argv) {
    wf_buf in = {0};
    uint8_t d[32];
    if (argc < 3 || argc > 4) return usage("hmac-sha256 needs KEY [FILE]");
    if (slurp(argc == 4 ? argv[3] : NULL, &in) < 0) return 1;
    wf_hmac_sha256(argv[2], strlen(argv[2]), in.ptr, in.len, d);
    print_hex(d, 32, NULL);
    wf_buf_free(&in);
    return 0;
}

/* The password on stdin, without one trailing newline. */
static int read_password(wf_buf *pw) {
    if (slurp(NULL, pw) < 0) return -1;
    if (pw->len && pw->ptr[pw->len - 1] == '\n') pw->len--;
    if (pw->len && pw->ptr[pw->len - 1] == '\r') pw->len--;
    return wf_buf_append(pw, "", 1) < 0 ? -1 : 0;
}

static int hash_password(int argc, char **argv) {
    wf_pw_opts o = {0};
    wf_buf pw = {0};
    char out[128];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--scheme") == 0 && i + 1 < argc) {
            const char *s = argv[++i];
            if (strcmp(s, "bcrypt") == 0) o.scheme = WF_PW_BCRYPT;
            else if (strcmp(s, "pbkdf2-sha256") == 0) o.scheme = WF_PW_PBKDF2_SHA256;
            else return usage("unknown scheme");
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            o.rounds = (uint32_t)strtoul(argv[++i], NULL, 10);
            if (!o.rounds) return usage("--rounds needs a positive number");
        } else {
            return usage("unknown option");
        }
    }
    if (read_password(&pw) < 0) return 1;
    int rc = wf_password_hash(out, sizeof out, pw.ptr, pw.len - 1, &o);
    wf_buf_free(&pw);
    if (rc == WF_EINVAL) return usage("rounds out of range for this scheme");
    if (rc < 0) {
        fprintf(stderr, "tokens: %s\n", wf_strerror(rc));
        return 1;
    }
    puts(out);
    return 0;
}

static int verify_password(int argc, char **argv) {
    wf_buf pw = {0};
    if (argc != 3) return usage("verify-password needs HASH");
    if (read_password(&pw) < 0) return 1;
    int rc = wf_password_verify(argv[2], pw.ptr, pw.len - 1);
    wf_buf_free(&pw);
    if (rc < 0) {
        fprintf(stderr, "tokens: malformed hash\n");
        return 2;
    }
    return rc == 1 ? 0 : 1;
}

static int jwt_sign(int argc, char **argv) {
    long long minutes = 0;
    bool set_exp = false;
    wf_json_doc d;
    if (argc != 4 && argc != 6) return usage("jwt-sign needs SECRET CLAIMS_JSON [--exp-minutes N]");
    if (argc == 6) {
        if (strcmp(argv[4], "--exp-minutes") != 0) return usage("unknown option");
        minutes = strtoll(argv[5], NULL, 10), set_exp = true;
    }
    if (wf_json_parse(argv[3], strlen(argv[3]), 0, &d) < 0 || wf_json_typeof(d.root) != WF_JSON_OBJECT) {
        fprintf(stderr, "tokens: CLAIMS_JSON is not a JSON object\n");
        return 2;
    }
    wf_buf claims = {0}, tok = {0};
    wf_jw w = {.out = &claims};
    wf_jw_obj(&w);
    for (const wf_jval *m = wf_json_first(d.root); m; m = wf_json_next(m)) {
        wf_str k = wf_json_key(m);
        if (set_exp && wf_str_eq(k, "exp")) continue;
        wf_jw_keyn(&w, k.ptr, k.len);
        wf_jw_value(&w, m);
    }
    if (set_exp) {
        wf_jw_key(&w, "exp");
        wf_jw_int(&w, (long long)time(NULL) + minutes * 60);
    }
    wf_jw_end(&w);
    wf_buf_append(&claims, "", 1);
    int rc = w.err ? w.err : wf_jwt_encode(&tok, claims.ptr, argv[2], strlen(argv[2]));
    if (rc == 0) printf("%.*s\n", (int)tok.len, tok.ptr);
    else fprintf(stderr, "tokens: %s\n", wf_strerror(rc));
    wf_json_free(&d);
    wf_buf_free(&claims);
    wf_buf_free(&tok);
    return rc ? 1 : 0;
}

static const char *jwt_kind(int rc) {
    switch (rc) {
    case WF_EALG: return "bad-algorithm";
    case WF_ESIGNATURE: return "bad-signature";
    case WF_EEXPIRED: return "expired";
    case WF_ENOTYET: return "not-yet-valid";
    case WF_EMISSING: return "missing-claim";
    case WF_EAUDIENCE: return "bad-audience";
    case WF_EISSUER: return "bad-issuer";
    default: return "malformed";
    }
}

static int jwt_verify(int argc, char **argv) {
    wf_jwt_opts o = {0};
    wf_json_doc c;
    if (argc != 4 && argc != 6) return usage("jwt-verify needs SECRET TOKEN [--leeway S]");
    if (argc == 6) {
        if (strcmp(argv[4], "--leeway") != 0) return usage("unknown option");
        o.leeway = strtoll(argv[5], NULL, 10);
    }
    int rc = wf_jwt_decode(argv[3], strlen(argv[3]), argv[2], strlen(argv[2]), &o, &c);
    if (rc < 0) {
        printf("%s\n", jwt_kind(rc));
        fprintf(stderr, "tokens: %s\n", wf_strerror(rc));
        return 1;
    }
    wf_buf out = {0};
    wf_jw w = {.out = &out};
    wf_jw_value(&w, c.root);
    printf("%.*s\n", (int)out.len, out.ptr);
    wf_buf_free(&out);
    wf_json_free(&c);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage("no command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "sha256") == 0) return digest(argc, argv, false);
    if (strcmp(cmd, "sha1") == 0) return digest(argc, argv, true);
    if (strcmp(cmd, "hmac-sha256") == 0) return hmac(argc, argv);
    if (strcmp(cmd, "hash-password") == 0) return hash_password(argc, argv);
    if (strcmp(cmd, "verify-password") == 0) return verify_password(argc, argv);
    if (strcmp(cmd, "jwt-sign") == 0) return jwt_sign(argc, argv);
    if (strcmp(cmd, "jwt-verify") == 0) return jwt_verify(argc, argv);
    return usage("unknown command");
}
