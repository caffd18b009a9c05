/* SPDX-License-Identifier: MIT */
/*
 * Linked against the shared library: the library actually loaded reports
 * the version of the header it was built from and the back end this build
 * chose, and every public function is exported (the rest are hidden).
 */
#include "qsem_test.h"

#ifndef QSEM_TEST_BACKEND
#  error "QSEM_TEST_BACKEND must name the configured back end"
#endif

int
main(void)
{
    ASSERT_EQ(qsem_version(), QSEM_VERSION_HEX);
    ASSERT_EQ(QSEM_VERSION_HEX >> 16, QSEM_VERSION_MAJOR);
    ASSERT_EQ((QSEM_VERSION_HEX >> 8) & 0xff, QSEM_VERSION_MINOR);
    ASSERT_EQ(QSEM_VERSION_HEX & 0xff, QSEM_VERSION_PATCH);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", QSEM_VERSION_MAJOR, QSEM_VERSION_MINOR,
             QSEM_VERSION_PATCH);
    if (strcmp(v, QSEM_VERSION_STRING) != 0)
        TEST_FAIL("QSEM_VERSION_STRING \"%s\" != \"%s\"", QSEM_VERSION_STRING, v);

    const char *backend = qsem_backend();
    ASSERT_TRUE(backend != NULL);
    if (strcmp(backend, QSEM_TEST_BACKEND) != 0)
        TEST_FAIL("qsem_backend() is \"%s\", this build configured \"%s\"",
                  backend, QSEM_TEST_BACKEND);

    /* One call through each entry point of the shared object. */
    qsem_t *s = test_new(1, 4, 0);
    ASSERT_TRUE(qsem_ref(s) == s);
    qsem_unref(s);
    ASSERT_OK(qsem_acquire(s, 1));
    ASSERT_ERR(qsem_try_acquire(s, 1), EAGAIN);
    ASSERT_ERR(qsem_acquire_for(s, 1, 0), ETIMEDOUT);
    ASSERT_ERR(qsem_acquire_until(s, 1, qsem_now_ns(), 0), ETIMEDOUT);
    ASSERT_OK(qsem_release(s, 2));
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_EQ(qsem_max(s), 4);
    qsem_waiter_t *w = qsem_waiter_new(s, 1, NULL, NULL);
    ASSERT_TRUE(w != NULL);
    ASSERT_OK(qsem_waiter_start(w));
    ASSERT_OK(qsem_waiter_result(w));
    ASSERT_OK(qsem_waiter_claim(w));
    ASSERT_OK(qsem_waiter_cancel(w));
    qsem_waiter_free(w);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_OK(qsem_close(s));
    ASSERT_EQ(qsem_is_closed(s), 1);
    ASSERT_TRUE(strlen(qsem_strerror(ECANCELED)) > 0);
    qsem_unref(s);
    printf("test_version_shared: ok (%s, %s back end)\n", QSEM_VERSION_STRING, backend);
    return 0;
}
