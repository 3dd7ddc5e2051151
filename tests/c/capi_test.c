/* C test program for the stickykey C ABI (include/stickykey.h).
 *
 * Built and run by tests/capi.rs (`cargo test --features capi --test capi`), which links it
 * against the static library and generates "capi_vectors.h": the request bodies and the keys,
 * error kinds and offsets that the Rust API computes for them, plus the Rust layout of SkKey
 * and SkHeader. Exits 0 when every check passes; prints each failure and exits 1 otherwise. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "stickykey.h"

/* What one profile must answer (the values come from capi_vectors.h). Keys are lower-case
 * hex; a legacy key is "" except for the sub2api profile. */
struct expected {
    const char *session_id_key, *session_id_legacy;           /* BODY_CHAT, session_id */
    const char *conversation_id_key, *conversation_id_legacy; /* any body, conversation_id */
    const char *cache_key_key, *cache_key_legacy;             /* BODY_CACHE_KEY */
    const char *content_key, *content_legacy;                 /* BODY_CHAT, no header */
    const char *cache_key_content_key, *cache_key_content_legacy; /* BODY_CACHE_KEY, content */
    const char *invalid_kind;                                 /* BODY_INVALID */
    size_t invalid_offset;
    const char *bad_utf8_kind;                                /* BODY_BAD_UTF8 */
    size_t bad_utf8_offset;
};

#include "capi_vectors.h" /* BODY_*, EXPECTED_NATIVE, EXPECTED_SUB2API, RUST_* */

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        checks++;                                                         \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fputc('\n', stderr);                                          \
        }                                                                 \
    } while (0)

#define LEN(lit) (sizeof(lit) - 1) /* a string literal's length without its NUL */

static SkHeader header(const char *name, const char *value) {
    SkHeader h;
    h.name = (const uint8_t *)name;
    h.name_len = strlen(name);
    h.value = (const uint8_t *)value;
    h.value_len = strlen(value);
    return h;
}

/* A key result: the return code, source, source name, key and legacy key. */
static void expect_key(const char *what, int32_t rc, const SkKey *out, int32_t source,
                       const char *source_name, const char *key, const char *legacy) {
    CHECK(rc == SK_OK, "%s: return code %d", what, (int)rc);
    CHECK(out->source == source, "%s: source %d, want %d", what, (int)out->source, (int)source);
    CHECK(strcmp(out->source_name, source_name) == 0, "%s: source name '%s', want '%s'", what,
          out->source_name, source_name);
    CHECK(strcmp(out->key, key) == 0, "%s: key '%s', want '%s'", what, out->key, key);
    CHECK(out->key_len == strlen(key), "%s: key_len %zu", what, out->key_len);
    CHECK(strcmp(out->legacy_sha256, legacy) == 0, "%s: legacy '%s', want '%s'", what,
          out->legacy_sha256, legacy);
    CHECK(out->error_kind == SK_ERROR_KIND_NONE && out->error_offset == 0, "%s: error %d at %zu",
          what, (int)out->error_kind, out->error_offset);
}

/* A refused body: the kind (by name, as the Rust API spells it) and the offset. */
static void expect_refused(const char *what, int32_t rc, const SkKey *out, const char *kind,
                           size_t offset) {
    CHECK(rc == SK_ERR_REFUSED, "%s: return code %d", what, (int)rc);
    CHECK(strcmp(sk_error_kind_name(out->error_kind), kind) == 0, "%s: kind %d (%s), want %s",
          what, (int)out->error_kind, sk_error_kind_name(out->error_kind), kind);
    CHECK(out->error_offset == offset, "%s: offset %zu, want %zu", what, out->error_offset,
          offset);
    CHECK(out->source == SK_SOURCE_NONE && out->key[0] == '\0' && out->key_len == 0,
          "%s: a key on error", what);
}

static void test_profile(uint32_t profile, const struct expected *e) {
    SkFingerprinter *fp = sk_fingerprinter_new(profile);
    SkKey out;
    int32_t rc;
    CHECK(fp != NULL, "profile %u: no fingerprinter", (unsigned)profile);
    if (fp == NULL) return;

    /* Tier 1: header session_id (any case, value trimmed) among other headers. */
    {
        SkHeader hs[2];
        hs[0] = header("Content-Type", "application/json");
        hs[1] = header("Session_ID", "  abc-123 ");
        rc = sk_session_key(fp, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), hs, 2, &out);
        expect_key("session_id header", rc, &out, SK_SOURCE_HEADER, "header:session_id",
                   e->session_id_key, e->session_id_legacy);
    }
    /* Tier 2: header conversation_id decides, so a malformed body is not even read. */
    {
        SkHeader h = header("conversation_id", "conv-9");
        rc = sk_session_key(fp, (const uint8_t *)BODY_INVALID, LEN(BODY_INVALID), &h, 1, &out);
        expect_key("conversation_id header", rc, &out, SK_SOURCE_HEADER,
                   "header:conversation_id", e->conversation_id_key, e->conversation_id_legacy);
    }
    /* Tier 3: body prompt_cache_key. */
    rc = sk_session_key(fp, (const uint8_t *)BODY_CACHE_KEY, LEN(BODY_CACHE_KEY), NULL, 0, &out);
    expect_key("prompt_cache_key", rc, &out, SK_SOURCE_BODY, "body:prompt_cache_key",
               e->cache_key_key, e->cache_key_legacy);
    /* Tier 4: content, by both functions; twice, so that the second call hits the caches. */
    for (int round = 0; round < 2; round++) {
        rc = sk_session_key(fp, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), NULL, 0, &out);
        expect_key("content via sk_session_key", rc, &out, SK_SOURCE_CONTENT, "content",
                   e->content_key, e->content_legacy);
        rc = sk_content_key(fp, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), &out);
        expect_key("sk_content_key", rc, &out, SK_SOURCE_CONTENT, "content", e->content_key,
                   e->content_legacy);
    }
    /* sk_content_key ignores the explicit body field. */
    rc = sk_content_key(fp, (const uint8_t *)BODY_CACHE_KEY, LEN(BODY_CACHE_KEY), &out);
    expect_key("sk_content_key ignores prompt_cache_key", rc, &out, SK_SOURCE_CONTENT, "content",
               e->cache_key_content_key, e->cache_key_content_legacy);

    /* Refused bodies: kind and offset as the Rust API reports them. */
    rc = sk_session_key(fp, (const uint8_t *)BODY_INVALID, LEN(BODY_INVALID), NULL, 0, &out);
    expect_refused("invalid JSON", rc, &out, e->invalid_kind, e->invalid_offset);
    rc = sk_content_key(fp, (const uint8_t *)BODY_BAD_UTF8, LEN(BODY_BAD_UTF8), &out);
    expect_refused("invalid UTF-8", rc, &out, e->bad_utf8_kind, e->bad_utf8_offset);
    /* ... and the handle works on after an error. */
    rc = sk_content_key(fp, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), &out);
    expect_key("after an error", rc, &out, SK_SOURCE_CONTENT, "content", e->content_key,
               e->content_legacy);

    /* Nothing to key on: a root that is not an object; an empty body (NULL, 0). */
    rc = sk_session_key(fp, (const uint8_t *)BODY_NO_SEED, LEN(BODY_NO_SEED), NULL, 0, &out);
    CHECK(rc == SK_NO_KEY && out.source == SK_SOURCE_NONE && out.key[0] == '\0',
          "no seed: %d", (int)rc);
    rc = sk_session_key(fp, NULL, 0, NULL, 0, &out);
    CHECK(rc == SK_NO_KEY, "NULL body of length 0: %d", (int)rc);

    /* Invalid arguments. */
    {
        SkHeader h = header("session_id", "abc");
        rc = sk_session_key(fp, NULL, 5, NULL, 0, &out);
        CHECK(rc == SK_ERR_INVALID_ARGUMENT, "NULL body of length 5: %d", (int)rc);
        CHECK(out.source == SK_SOURCE_NONE && out.key[0] == '\0', "out not cleared");
        rc = sk_session_key(fp, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), NULL, 1, &out);
        CHECK(rc == SK_ERR_INVALID_ARGUMENT, "NULL headers, n = 1: %d", (int)rc);
        h.value = NULL;
        rc = sk_session_key(fp, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), &h, 1, &out);
        CHECK(rc == SK_ERR_INVALID_ARGUMENT, "NULL header value of length 3: %d", (int)rc);
        h.value_len = 0; /* NULL with length 0: an empty (blank) value, which falls through */
        rc = sk_session_key(fp, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), &h, 1, &out);
        expect_key("blank header falls through", rc, &out, SK_SOURCE_CONTENT, "content",
                   e->content_key, e->content_legacy);
        rc = sk_session_key(fp, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), NULL, 0, NULL);
        CHECK(rc == SK_ERR_INVALID_ARGUMENT, "NULL out: %d", (int)rc);
        rc = sk_content_key(fp, NULL, 1, &out);
        CHECK(rc == SK_ERR_INVALID_ARGUMENT, "content: NULL body of length 1: %d", (int)rc);
    }
    sk_fingerprinter_free(fp);
}

int main(void) {
    SkKey out;
    int32_t rc;

    /* The Rust side's layout of the structs, as the header declares them. */
    CHECK(sizeof(SkKey) == RUST_SIZEOF_SKKEY, "sizeof(SkKey) %zu", sizeof(SkKey));
    CHECK(offsetof(SkKey, error_offset) == RUST_OFFSETOF_SKKEY_ERROR_OFFSET, "error_offset");
    CHECK(offsetof(SkKey, key) == RUST_OFFSETOF_SKKEY_KEY, "key");
    CHECK(offsetof(SkKey, source_name) == RUST_OFFSETOF_SKKEY_SOURCE_NAME, "source_name");
    CHECK(offsetof(SkKey, legacy_sha256) == RUST_OFFSETOF_SKKEY_LEGACY, "legacy_sha256");
    CHECK(sizeof(SkHeader) == RUST_SIZEOF_SKHEADER, "sizeof(SkHeader) %zu", sizeof(SkHeader));

    test_profile(SK_PROFILE_NATIVE, &EXPECTED_NATIVE);
    test_profile(SK_PROFILE_SUB2API, &EXPECTED_SUB2API);

    /* Calls without a handle. */
    CHECK(sk_fingerprinter_new(7) == NULL, "unknown profile");
    rc = sk_session_key(NULL, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), NULL, 0, &out);
    CHECK(rc == SK_ERR_INVALID_ARGUMENT, "NULL handle: %d", (int)rc);
    rc = sk_content_key(NULL, (const uint8_t *)BODY_CHAT, LEN(BODY_CHAT), &out);
    CHECK(rc == SK_ERR_INVALID_ARGUMENT, "content: NULL handle: %d", (int)rc);
    sk_fingerprinter_free(NULL);

    /* Static strings. */
    CHECK(strcmp(sk_error_kind_name(SK_ERROR_KIND_NONE), "none") == 0, "none");
    CHECK(strcmp(sk_error_kind_name(SK_ERROR_KIND_UNEXPECTED_BYTE), "unexpected_byte") == 0,
          "unexpected_byte");
    CHECK(strcmp(sk_error_kind_name(SK_ERROR_KIND_DUPLICATE_KEY), "duplicate_key") == 0,
          "duplicate_key");
    CHECK(strcmp(sk_error_kind_name(-1), "unknown") == 0, "unknown");
    CHECK(strcmp(sk_version(), RUST_VERSION) == 0, "version %s", sk_version());

    printf("capi_test: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
