/* Where a URL fetch may connect: special ranges, addresses an IPv6
 * address carries, allow entries (spec/fetch-dest.h). */
#include "spec/fetch-dest.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static struct sockaddr_storage addr(const char *s)
{
        struct sockaddr_storage ss = {};
        struct sockaddr_in *a4 = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &ss;
        if (inet_pton(AF_INET, s, &a4->sin_addr) == 1)
                a4->sin_family = AF_INET;
        else if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1)
                a6->sin6_family = AF_INET6;
        else
                abort();
        return ss;
}

static const char *special(const char *s)
{
        struct sockaddr_storage ss = addr(s);
        return fetch_dest_special((struct sockaddr *) &ss);
}

TEST(special_ranges)
{
        const char *refused[] = {
                "127.0.0.1", "127.1.2.3", "0.0.0.0", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1",
                "169.254.169.254", "169.254.170.2", "100.100.100.200", "100.64.0.1", "224.0.0.1",
                "255.255.255.255", "198.18.0.1", "192.0.2.1",
                "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
                "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
                "2001::1", "::127.0.0.1",
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                if (!special(refused[i]))
                        TEST_FAIL("%s is not recognized as special", refused[i]);
        const char *public[] = { "151.101.2.132", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2a04:4e42::644",
                                 "::ffff:151.101.2.132", "2606:4700::1111" };
        for (size_t i = 0; i < ELEMENTSOF(public); i++)
                if (special(public[i]))
                        TEST_FAIL("%s is public but judged '%s'", public[i], special(public[i]));
        ASSERT_STREQ(special("169.254.169.254"), "link-local (cloud metadata)");
        ASSERT_STREQ(special("::ffff:127.0.0.1"), "loopback");
}

TEST(allow_entries)
{
        FetchCidr c[3];
        ASSERT_OK(fetch_cidr_parse("127.0.0.1", &c[0], NULL));
        ASSERT_EQ(c[0].prefix, 32);
        ASSERT_OK(fetch_cidr_parse("10.20.0.0/16", &c[1], NULL));
        ASSERT_OK(fetch_cidr_parse("fd00::/8", &c[2], NULL));
        struct sockaddr_storage a;
        a = addr("127.0.0.1");
        ASSERT_TRUE(fetch_dest_allowed((struct sockaddr *) &a, c, 3));
        a = addr("::ffff:127.0.0.1");
        ASSERT_TRUE(fetch_dest_allowed((struct sockaddr *) &a, c, 3));
        a = addr("127.0.0.2");
        ASSERT_FALSE(fetch_dest_allowed((struct sockaddr *) &a, c, 3));
        a = addr("10.20.3.4");
        ASSERT_TRUE(fetch_dest_allowed((struct sockaddr *) &a, c, 3));
        a = addr("10.21.3.4");
        ASSERT_FALSE(fetch_dest_allowed((struct sockaddr *) &a, c, 3));
        a = addr("fd99::1");
        ASSERT_TRUE(fetch_dest_allowed((struct sockaddr *) &a, c, 3));
        a = addr("169.254.169.254");
        ASSERT_FALSE(fetch_dest_allowed((struct sockaddr *) &a, c, 3));
        ASSERT_FALSE(fetch_dest_allowed((struct sockaddr *) &a, NULL, 0));
        a = addr("151.101.2.132");
        ASSERT_TRUE(fetch_dest_allowed((struct sockaddr *) &a, NULL, 0));
}

TEST(bad_entries)
{
        FetchCidr c;
        _cleanup_error_ Error err = ERROR_INIT;
        const char *bad[] = { "", "localhost", "10.0.0.0/33", "10.0.0.1/8", "::1/129", "1.2.3.4/", "1.2.3.4/x",
                              "1.2.3.4/-1", "fe80::1/10" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (fetch_cidr_parse(bad[i], &c, &err) != -EINVAL)
                        TEST_FAIL("'%s' was accepted", bad[i]);
                error_clear(&err);
        }
        ASSERT_EQ(fetch_cidr_parse("10.0.0.1/8", &c, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "host bits");
}
