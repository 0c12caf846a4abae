/* examples/tokens.c, the command-line tool, run as a user would (make builds it as build/tokens). */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run "printf input | build/tokens args"; first line of stdout into out; returns the exit status. */
static int tokens(const char *input, const char *args, char *out, size_t cap) {
    char cmd[4096];
    if (access("build/tokens", X_OK) != 0) return -100;
    snprintf(cmd, sizeof cmd, "printf '%%b' '%s' 2>/dev/null | build/tokens %s 2>/dev/null",
             input ? input : "", args);
    FILE *p = popen(cmd, "r");
    out[0] = 0;
    if (!p) return -1;
    if (!fgets(out, (int)cap, p)) out[0] = 0;
    out[strcspn(out, "\n")] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

WF_TEST(tokens_digests_and_hmac) {
    char out[512];
    if (access("build/tokens", X_OK) != 0) WF_SKIP("build/tokens is not built (make builds it)");
    WF_EXPECT_EQ_INT(tokens("abc", "sha256", out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -");
    WF_EXPECT_EQ_INT(tokens("abc", "sha1", out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "a9993e364706816aba3e25717850c26c9cd0d89d  -");
    WF_EXPECT_EQ_INT(tokens("", "sha256 tests/vectors/LICENSE.llhttp", out, sizeof out), 0);
    char want[256];
    FILE *p = popen("sha256sum tests/vectors/LICENSE.llhttp", "r");
    WF_ASSERT_TRUE(p && fgets(want, sizeof want, p));
    pclose(p);
    want[strcspn(want, "\n")] = 0;
    WF_EXPECT_EQ_STR(out, want);
    WF_EXPECT_EQ_INT(tokens("what do ya want for nothing?", "hmac-sha256 Jefe", out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    WF_EXPECT_EQ_INT(tokens("", "sha256 /nonexistent", out, sizeof out), 1);
    WF_EXPECT_EQ_INT(tokens("", "frobnicate", out, sizeof out), 2);
    WF_EXPECT_EQ_INT(tokens("", "", out, sizeof out), 2);
}

WF_TEST(tokens_passwords) {
    char hash[512], out[512];
    if (access("build/tokens", X_OK) != 0) WF_SKIP("build/tokens is not built (make builds it)");
    WF_ASSERT_EQ_INT(tokens("testpass\n", "hash-password --rounds 1000", hash, sizeof hash), 0);
    WF_EXPECT_TRUE(strncmp(hash, "$pbkdf2-sha256$1000$", 20) == 0);
    /* the shell would expand $...: pass the hash through the environment instead */
    setenv("WF_HASH", hash, 1);
    WF_EXPECT_EQ_INT(tokens("testpass\n", "verify-password \"$WF_HASH\"", out, sizeof out), 0);
    /* one newline is dropped */
    WF_EXPECT_EQ_INT(tokens("testpass", "verify-password \"$WF_HASH\"", out, sizeof out), 0);
    WF_EXPECT_EQ_INT(tokens("testpasS", "verify-password \"$WF_HASH\"", out, sizeof out), 1);
    WF_EXPECT_EQ_INT(tokens("x", "verify-password 'not-a-hash'", out, sizeof out), 2);
    WF_ASSERT_EQ_INT(tokens("adminpass", "hash-password --scheme bcrypt --rounds 4", hash, sizeof hash), 0);
    WF_EXPECT_TRUE(strncmp(hash, "$2b$04$", 7) == 0);
    setenv("WF_HASH", hash, 1);
    WF_EXPECT_EQ_INT(tokens("adminpass", "verify-password \"$WF_HASH\"", out, sizeof out), 0);
    WF_EXPECT_EQ_INT(tokens("x", "hash-password --scheme md5", out, sizeof out), 2);
    WF_EXPECT_EQ_INT(tokens("x", "hash-password --scheme bcrypt --rounds 99", out, sizeof out), 2);
}

WF_TEST(tokens_jwt_and_pyjwt) {
    char tok[1024], out[1024], cmd[2048];
    if (access("build/tokens", X_OK) != 0) WF_SKIP("build/tokens is not built (make builds it)");
    WF_ASSERT_EQ_INT(tokens("", "jwt-sign your-secret-key '{\"sub\":\"testuser\"}' --exp-minutes 30", tok,
                            sizeof tok), 0);
    snprintf(cmd, sizeof cmd, "jwt-verify your-secret-key %s", tok);
    WF_EXPECT_EQ_INT(tokens("", cmd, out, sizeof out), 0);
    WF_EXPECT_TRUE(strncmp(out, "{\"sub\":\"testuser\",\"exp\":", 24) == 0);
    snprintf(cmd, sizeof cmd, "jwt-verify wrong-key %s", tok);
    WF_EXPECT_EQ_INT(tokens("", cmd, out, sizeof out), 1);
    WF_EXPECT_EQ_STR(out, "bad-signature");
    WF_ASSERT_EQ_INT(tokens("", "jwt-sign k '{\"sub\":\"a\"}' --exp-minutes -1", tok, sizeof tok), 0);
    snprintf(cmd, sizeof cmd, "jwt-verify k %s", tok);
    WF_EXPECT_EQ_INT(tokens("", cmd, out, sizeof out), 1);
    WF_EXPECT_EQ_STR(out, "expired");
    snprintf(cmd, sizeof cmd, "jwt-verify k %s --leeway 120", tok);
    WF_EXPECT_EQ_INT(tokens("", cmd, out, sizeof out), 0);
    WF_EXPECT_EQ_INT(tokens("", "jwt-verify k eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", out, sizeof out), 1);
    WF_EXPECT_EQ_STR(out, "bad-algorithm");
    WF_EXPECT_EQ_INT(tokens("", "jwt-verify k not.a.token", out, sizeof out), 1);
    WF_EXPECT_EQ_STR(out, "malformed");
    WF_EXPECT_EQ_INT(tokens("", "jwt-sign k '[1]'", out, sizeof out), 2);
    WF_EXPECT_EQ_INT(tokens("", "jwt-verify k", out, sizeof out), 2);
    /* PyJWT verifies ours, and we verify PyJWT's */
    if (system("/usr/bin/python3 -c 'import jwt' 2>/dev/null") != 0) WF_SKIP("python3-jwt is not installed");
    WF_ASSERT_EQ_INT(tokens("", "jwt-sign s3 '{\"sub\":\"py\"}' --exp-minutes 5", tok, sizeof tok), 0);
    snprintf(cmd, sizeof cmd,
            "/usr/bin/python3 -c 'import jwt; print(jwt.decode(\"%s\", \"s3\", "
            "algorithms=[\"HS256\"])[\"sub\"])'", tok);
    FILE *p = popen(cmd, "r");
    WF_ASSERT_TRUE(p && fgets(out, sizeof out, p));
    pclose(p);
    WF_EXPECT_EQ_STR(out, "py\n");
    p = popen("/usr/bin/python3 -c 'import jwt, time; print(jwt.encode({\"sub\": \"from-py\", \"exp\": "
              "int(time.time()) + 60}, \"s3\"))'", "r");
    WF_ASSERT_TRUE(p && fgets(tok, sizeof tok, p));
    pclose(p);
    tok[strcspn(tok, "\n")] = 0;
    snprintf(cmd, sizeof cmd, "jwt-verify s3 %s", tok);
    WF_EXPECT_EQ_INT(tokens("", cmd, out, sizeof out), 0);
    WF_EXPECT_TRUE(strstr(out, "\"sub\":\"from-py\"") != NULL);
}
