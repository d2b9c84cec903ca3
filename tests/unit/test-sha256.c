#include "base/sha256.h"
#include "test.h"

static void hex_of(const void *data, size_t len, char out[SHA256_HEX_SIZE])
{
        uint8_t d[SHA256_DIGEST_SIZE];
        sha256_buffer(data, len, d);
        digest_to_hex(d, sizeof d, out);
}

TEST(fips_180_vectors)
{
        char hex[SHA256_HEX_SIZE];
        hex_of("", 0, hex);
        ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        hex_of("abc", 3, hex);
        ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        hex_of(m448, strlen(m448), hex);
        ASSERT_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                           "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
        hex_of(m896, strlen(m896), hex);
        ASSERT_STREQ(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(million_a_in_odd_chunks)
{
        static char a[1000];
        memset(a, 'a', sizeof a);
        Sha256 s;
        sha256_init(&s);
        /* 1000 * 999 + 1000 = 1000000, in chunks that straddle blocks. */
        for (int i = 0; i < 1000; i++)
                sha256_update(&s, a, 999);
        sha256_update(&s, a, 1000);
        uint8_t d[SHA256_DIGEST_SIZE];
        char hex[SHA256_HEX_SIZE];
        sha256_final(&s, d);
        digest_to_hex(d, sizeof d, hex);
        ASSERT_STREQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Message lengths around the padding boundaries (55/56 bytes leave or
 * do not leave room for the length field). Reference values from
 * Python's hashlib. */
TEST(padding_boundaries)
{
        static const struct {
                size_t n;
                const char *hex;
        } cases[] = {
                { 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
                { 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
                { 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
                { 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
                { 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
                { 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
                { 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
                { 127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a" },
                { 128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e" },
        };
        char a[128], hex[SHA256_HEX_SIZE];
        memset(a, 'a', sizeof a);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                hex_of(a, cases[i].n, hex);
                ASSERT_STREQ(hex, cases[i].hex);
        }
}

TEST(incremental_matches_one_shot_at_every_split)
{
        char msg[200];
        for (size_t i = 0; i < sizeof msg; i++)
                msg[i] = (char) (i * 7 + 3);
        uint8_t want[SHA256_DIGEST_SIZE];
        sha256_buffer(msg, sizeof msg, want);
        for (size_t a = 0; a <= sizeof msg; a += 3)
                for (size_t b = a; b <= sizeof msg; b += 5) {
                        Sha256 s;
                        uint8_t got[SHA256_DIGEST_SIZE];
                        sha256_init(&s);
                        sha256_update(&s, msg, a);
                        sha256_update(&s, msg + a, b - a);
                        sha256_update(&s, msg + b, sizeof msg - b);
                        sha256_final(&s, got);
                        ASSERT_TRUE(memcmp(got, want, sizeof want) == 0);
                }
}

TEST(hex_is_lower_case_and_terminated)
{
        uint8_t d[3] = { 0x00, 0xab, 0xff };
        char out[7];
        memset(out, 'x', sizeof out);
        digest_to_hex(d, 3, out);
        ASSERT_STREQ(out, "00abff");
}
