/* SPDX-License-Identifier: MIT */
/*
 * The core's deadline helpers, the one home of the timeout rule that every
 * front end uses: saturation at QSEM_FOREVER, negative as forever (ns), NaN
 * and negative seconds rejected, +inf and huge seconds as forever, and a
 * non-zero timeout that never rounds down to a try.
 */
#include <math.h>

#include "qsem_test.h"

static void
check_ns(void)
{
    ASSERT_EQ(qsem_deadline_after(-1), QSEM_FOREVER);
    ASSERT_EQ(qsem_deadline_after(INT64_MIN), QSEM_FOREVER);
    ASSERT_EQ(qsem_deadline_after(INT64_MAX), QSEM_FOREVER);
    ASSERT_EQ(qsem_deadline_after(INT64_MAX - 1), QSEM_FOREVER);

    int64_t before = qsem_now_ns();
    int64_t d0 = qsem_deadline_after(0);
    int64_t d1 = qsem_deadline_after(1000000);
    int64_t after = qsem_now_ns();
    ASSERT_GE(d0, before);
    ASSERT_LE(d0, after);
    ASSERT_GE(d1, before + 1000000);
    ASSERT_LE(d1, after + 1000000);

    /* One less than what would saturate still adds exactly. */
    int64_t now = qsem_now_ns();
    int64_t big = QSEM_FOREVER - now - INT64_C(1000000000000);
    int64_t d = qsem_deadline_after(big);
    ASSERT_TRUE(d != QSEM_FOREVER);
    ASSERT_GE(d, now + big);
}

static int64_t
sec(double s)
{
    int64_t ns = 12345;
    ASSERT_OK(qsem_timeout_from_sec(s, &ns));
    return ns;
}

static void
check_sec(void)
{
    int64_t ns = 777;
    ASSERT_ERR(qsem_timeout_from_sec(NAN, &ns), EINVAL);
    ASSERT_ERR(qsem_timeout_from_sec(-NAN, &ns), EINVAL);
    ASSERT_ERR(qsem_timeout_from_sec(-1e-300, &ns), EINVAL);
    ASSERT_ERR(qsem_timeout_from_sec(-1.0, &ns), EINVAL);
    ASSERT_ERR(qsem_timeout_from_sec(-INFINITY, &ns), EINVAL);
    ASSERT_EQ(ns, 777); /* a failed call changes nothing */

    ASSERT_EQ(sec(0.0), 0);
    ASSERT_EQ(sec(-0.0), 0);
    ASSERT_EQ(sec(1.0), 1000000000);
    ASSERT_EQ(sec(0.5), 500000000);
    ASSERT_EQ(sec(1e-9), 1);
    /* Never rounds a non-zero timeout down to zero. */
    ASSERT_EQ(sec(1e-12), 1);
    ASSERT_EQ(sec(4.9e-324), 1);
    ASSERT_EQ(sec(1.5e-9), 2);

    ASSERT_EQ(sec(INFINITY), -1);
    ASSERT_EQ(sec(1e300), -1);
    ASSERT_EQ(sec(9223372036.0), -1);
    ASSERT_EQ(sec(1e6), INT64_C(1000000000000000));
    /* Just under the cap: finite, and not less than asked (a double holds
     * nanoseconds that large only to within 1 us, so not exactly). */
    ASSERT_GE(sec(9223372035.0), INT64_C(9223372035000000000));
    ASSERT_EQ(qsem_deadline_after(sec(1e300)), QSEM_FOREVER);
}

int
main(void)
{
    check_ns();
    check_sec();
    puts("test_deadline: ok");
    return 0;
}
