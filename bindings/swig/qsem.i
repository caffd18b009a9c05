/*
 * qsem.i: the one SWIG interface for Java, Go, Perl, Tcl and Ruby.
 *
 * The generated class is `Semaphore`.  Each proxy object owns one handle
 * (qsem_ref/qsem_unref) on a shared qsem_t, in a small box of its own (a
 * Perl thread's copies of a proxy share its box; see CLONE below):
 * deleting, disposing or collecting it drops that handle, and dropping the
 * last one closes the semaphore.  A blocked wait pins the memory inside the core, so a handle can
 * go away under a waiter without freeing anything the waiter still reads
 * (CONTRACT.md, "lifetime is reference counted").
 *
 * Results travel from the C helpers below to the single %exception block
 * through a thread-local slot, so that every language maps errno values to
 * its own exceptions in one place.  The wrappers are generated at build
 * time by bindings/swig/CMakeLists.txt and never committed.
 */
%module qsem

%{
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "qsem.h"

#if defined(SWIGRUBY)
#include <ruby/thread.h>
#endif

/*
 * The proxy's C object: one handle on a shared qsem_t.  Each proxy gets a
 * distinct address even when several share one semaphore, because SWIG's Tcl
 * runtime keys ownership by that address.  The wrappers read `s` once on
 * entry, so freeing this box while its owner's other threads block inside
 * the core is harmless: the core pins the semaphore itself.
 */
typedef struct Semaphore {
    qsem_t *s;
    /* Proxies sharing this box.  Always 1 except in Perl, where a new
     * thread's copies of a proxy share their parent's box (see CLONE). */
    atomic_long refs;
} Semaphore;

/* Result of the last helper on this thread (0 or a qsem errno), read by %exception.
 * Thread-local because Java, Go, Perl and Tcl call in from many threads at once. */
static _Thread_local int qsem_swig_err;

/* Seconds (as the scripting languages and Java's double overload give them)
 * to a qsem timeout in nanoseconds: NaN is an argument error, a negative
 * timeout tries once without sleeping (as threading and java.util.concurrent
 * do), and anything too large for an int64 of nanoseconds waits forever. */
static int qsem_swig_seconds_to_ns(double seconds, int64_t *ns)
{
    if (isnan(seconds)) {
        return EINVAL;
    }
    if (seconds <= 0.0) {
        *ns = 0;
    } else if (seconds >= 9.2e9) {
        *ns = -1;
    } else {
        *ns = (int64_t)(seconds * 1e9);
    }
    return 0;
}

#if defined(SWIGRUBY)
struct qsem_swig_wait {
    qsem_t *s;
    int64_t n;
    int64_t deadline;
    int rc;
};

static void *qsem_swig_wait_nogvl(void *arg)
{
    struct qsem_swig_wait *w = arg;
    w->rc = qsem_acquire_until(w->s, w->n, w->deadline, QSEM_INTR);
    return NULL;
}
#endif

/*
 * Take n tokens before deadline (QSEM_FOREVER: none).  Tries once with the
 * runtime's lock held, so the uncontended path costs no lock hand-off.
 *
 * Ruby: the sleep runs without the GVL.  RUBY_UBF_IO interrupts it with a
 * signal, which ends a QSEM_INTR wait with EINTR and no token taken; the
 * pending interrupt (Thread#raise, Thread#kill, a trap) then runs with the
 * GVL held, and if it returns the wait resumes against the same deadline.
 * RB_NOGVL_INTR_FAIL keeps Ruby from raising on the way out of a wait that
 * did take its tokens, which would lose them.
 *
 * Java, Go, Perl and Tcl hold no global lock across a native call, so there
 * the plain blocking call is already the right thing (Perl only adds its
 * signal handlers, below).
 */
static int qsem_swig_acquire_until(qsem_t *s, int64_t n, int64_t deadline)
{
    int rc = qsem_try_acquire(s, n);
    if (rc != EAGAIN) {
        return rc;
    }
#if defined(SWIGRUBY)
    for (;;) {
        struct qsem_swig_wait w = { s, n, deadline, EINTR };
        rb_nogvl(qsem_swig_wait_nogvl, &w, RUBY_UBF_IO, NULL, RB_NOGVL_INTR_FAIL);
        if (w.rc != EINTR) {
            return w.rc;
        }
        rb_thread_check_ints();
    }
#elif defined(SWIGPERL)
    /* Perl's %SIG handlers are deferred to a safe point, and a blocked
     * call is none: take the EINTR, run them here (one that dies unwinds
     * from this point with no token taken), then wait out the same
     * deadline.  That makes `alarm` with a dying handler time out an acquire. */
    for (;;) {
        dTHX;
        rc = qsem_acquire_until(s, n, deadline, QSEM_INTR);
        if (rc != EINTR) {
            return rc;
        }
        PERL_ASYNC_CHECK();
    }
#else
    return qsem_acquire_until(s, n, deadline, 0);
#endif
}

/* A new proxy box around handle s (which it then owns), or NULL with the
 * error recorded; s is dropped if the box cannot be allocated. */
static Semaphore *qsem_swig_box(qsem_t *s)
{
    Semaphore *self;
    if (s == NULL) {
        qsem_swig_err = errno;
        return NULL;
    }
    self = malloc(sizeof *self);
    if (self == NULL) {
        qsem_unref(s);
        qsem_swig_err = ENOMEM;
        return NULL;
    }
    self->s = s;
    atomic_init(&self->refs, 1);
    return self;
}

static Semaphore *new_Semaphore(int64_t initial, int64_t max, bool fair)
{
    return qsem_swig_box(qsem_new(initial, max, fair ? QSEM_FIFO : 0u));
}

/* acq_rel: the last proxy out must see every use of the box by the others. */
static void delete_Semaphore(Semaphore *self)
{
    if (atomic_fetch_sub_explicit(&self->refs, 1, memory_order_acq_rel) == 1) {
        qsem_unref(self->s);
        free(self);
    }
}

static void Semaphore_acquire(Semaphore *self, int64_t n)
{
    qsem_swig_err = qsem_swig_acquire_until(self->s, n, QSEM_FOREVER);
}

/* false on timeout or when the tokens are not free now; the one bool-returning wait. */
static bool Semaphore_try_acquire_ns(Semaphore *self, int64_t n, int64_t timeout_ns)
{
    int rc;
    if (timeout_ns == 0) {
        rc = qsem_try_acquire(self->s, n);
    } else if (timeout_ns < 0) {
        rc = qsem_swig_acquire_until(self->s, n, QSEM_FOREVER);
    } else {
        int64_t now = qsem_now_ns();
        int64_t deadline = timeout_ns > QSEM_FOREVER - now ? QSEM_FOREVER : now + timeout_ns;
        rc = qsem_swig_acquire_until(self->s, n, deadline);
    }
    if (rc == EAGAIN || rc == ETIMEDOUT) {
        return false;
    }
    qsem_swig_err = rc;
    return rc == 0;
}

static bool Semaphore_try_acquire(Semaphore *self, int64_t n, double timeout)
{
    int64_t ns;
    int rc = qsem_swig_seconds_to_ns(timeout, &ns);
    if (rc != 0) {
        qsem_swig_err = rc;
        return false;
    }
    return Semaphore_try_acquire_ns(self, n, ns);
}

static void Semaphore_release(Semaphore *self, int64_t n)
{
    qsem_swig_err = qsem_release(self->s, n);
}

static int64_t Semaphore_available(Semaphore *self) { return qsem_available(self->s); }
static int64_t Semaphore_waiting(Semaphore *self) { return qsem_waiting(self->s); }
static int64_t Semaphore_max(Semaphore *self) { return qsem_max(self->s); }
static bool Semaphore_closed(Semaphore *self) { return qsem_is_closed(self->s) != 0; }
static void Semaphore_close(Semaphore *self) { (void)qsem_close(self->s); }

/* A second handle on the same semaphore, owned by the new proxy: the way to
 * give another thread's interpreter (Perl, Tcl) its own reference. */
static Semaphore *Semaphore_dup(Semaphore *self) { return qsem_swig_box(qsem_ref(self->s)); }

static const char *qsem_swig_message(int err)
{
    switch (err) {
    case EINVAL:
        return "qsem: invalid argument (a count must be 0..max, the timeout a number)";
    case EOVERFLOW:
        return "qsem: release would pass the semaphore's maximum";
    case ECANCELED:
        return "qsem: semaphore is closed";
    case ENOMEM:
        return "qsem: out of memory";
    default:
        return qsem_strerror(err);
    }
}
%}

%include <stdint.i>
%include <exception.i>

/*
 * Every errno becomes the target language's own exception here, and only
 * here (STYLE.md, SWIG).  A timeout is not an error: the try methods return
 * false.  Java and Ruby get classes of their own where SWIG's generic codes
 * have no good match; the rest use SWIG_exception's portable mapping:
 * EINVAL -> ValueError, EOVERFLOW -> OverflowError, ECANCELED -> RuntimeError
 * ("closed").  Go has no exceptions: SWIG panics, and the Go tests recover.
 */
%exception {
    qsem_swig_err = 0;
    $action
    if (qsem_swig_err != 0) {
        int qsem_swig_code_ = qsem_swig_err;
        qsem_swig_err = 0;
#if defined(SWIGJAVA)
        {
            const char *cls = qsem_swig_code_ == EINVAL ? "java/lang/IllegalArgumentException"
                            : qsem_swig_code_ == EOVERFLOW ? "java/lang/ArithmeticException"
                            : qsem_swig_code_ == ECANCELED ? "org/qsem/ClosedException"
                            : qsem_swig_code_ == ENOMEM ? "java/lang/OutOfMemoryError"
                            : "java/lang/IllegalStateException";
            jclass excep = (*jenv)->FindClass(jenv, cls);
            if (excep != NULL) {
                (*jenv)->ThrowNew(jenv, excep, qsem_swig_message(qsem_swig_code_));
            }
            return $null;
        }
#elif defined(SWIGRUBY)
        {
            VALUE qsem_swig_cls_ = rb_eRuntimeError;
            if (qsem_swig_code_ == EINVAL) {
                qsem_swig_cls_ = rb_eArgError;
            } else if (qsem_swig_code_ == EOVERFLOW) {
                qsem_swig_cls_ = rb_eRangeError;
            } else if (qsem_swig_code_ == ENOMEM) {
                qsem_swig_cls_ = rb_eNoMemError;
            } else if (qsem_swig_code_ == ECANCELED) {
                qsem_swig_cls_ = rb_const_get(rb_const_get(rb_cObject, rb_intern("Qsem")),
                                              rb_intern("ClosedError"));
            }
            rb_raise(qsem_swig_cls_, "%s", qsem_swig_message(qsem_swig_code_));
        }
#else
        SWIG_Error(qsem_swig_code_ == EINVAL ? SWIG_ValueError
                   : qsem_swig_code_ == EOVERFLOW ? SWIG_OverflowError
                   : qsem_swig_code_ == ENOMEM ? SWIG_MemoryError
                   : SWIG_RuntimeError,
                   qsem_swig_message(qsem_swig_code_));
#  if defined(SWIGTCL)
        /* After SWIG_Error, which sets its own {SWIG ...} code. */
        Tcl_SetErrorCode(interp, "QSEM",
                         qsem_swig_code_ == EINVAL ? "EINVAL"
                         : qsem_swig_code_ == EOVERFLOW ? "EOVERFLOW"
                         : qsem_swig_code_ == ECANCELED ? "CLOSED" : "ERROR", NULL);
#  endif
        SWIG_fail;
#endif
    }
}

/* Names each language expects: camelCase in Java, snake_case with a
 * predicate in Ruby, snake_case in Perl and Tcl. */
#if defined(SWIGJAVA)
%rename(tryAcquire) Semaphore::try_acquire;
%rename(tryAcquireNanos) Semaphore::try_acquire_ns;
%rename(isClosed) Semaphore::closed;
%rename(dup) Semaphore::dup;
#elif defined(SWIGRUBY)
%rename("closed?") Semaphore::closed;
%rename(dup_handle) Semaphore::dup;
#endif

#define QSEM_OPT(v) = v

#if defined(SWIGJAVA)
/* delete() zeroes the proxy's pointer but leaves the object callable: make
 * a later call an exception rather than a NULL dereference. */
%typemap(check) Semaphore *self %{
  if ($1 == NULL) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIllegalStateException, "qsem: Semaphore used after delete()");
    return $null;
  }
%}

/* Load the JNI library with the classes, so users never call loadLibrary. */
%pragma(java) jniclasscode=%{
  static {
    System.loadLibrary("qsemjni");
  }
%}
%typemap(javaimports) Semaphore "import java.util.concurrent.TimeUnit;"
%typemap(javainterfaces) Semaphore "AutoCloseable"
%typemap(javacode) Semaphore %{
  /** A semaphore with no tokens and no bound beyond VALUE_MAX. */
  public Semaphore() { this(0, qsem.VALUE_MAX, false); }
  /** Unfair (fast) semaphore with {@code initial} tokens. */
  public Semaphore(long initial) { this(initial, qsem.VALUE_MAX, false); }
  /** Unfair semaphore that never holds more than {@code max} tokens. */
  public Semaphore(long initial, long max) { this(initial, max, false); }

  public void acquire() { acquire(1); }
  public boolean tryAcquire() { return tryAcquireNanos(1, 0); }
  public boolean tryAcquire(long n) { return tryAcquireNanos(n, 0); }
  public void release() { release(1); }

  /** As java.util.concurrent.Semaphore.tryAcquire(permits, timeout, unit): false on timeout. */
  public boolean tryAcquire(long n, long timeout, TimeUnit unit) {
    return tryAcquireNanos(n, timeout <= 0 ? 0 : unit.toNanos(timeout));
  }
%}
#endif

/* Queries and close cannot fail: no need to pay for the error check. */
%noexception Semaphore::available;
%noexception Semaphore::waiting;
%noexception Semaphore::max;
%noexception Semaphore::closed;
%noexception Semaphore::close;
%noexception ~Semaphore;

%newobject Semaphore::dup;
%nodefaultctor Semaphore;
%nodefaultdtor Semaphore;

/* Opaque to SWIG, as solv.i declares Pool: the real type is the core's. */
typedef struct {} Semaphore;

%extend Semaphore {
    Semaphore(int64_t initial QSEM_OPT(0), int64_t max QSEM_OPT(QSEM_VALUE_MAX), bool fair QSEM_OPT(false));
    ~Semaphore();
    void acquire(int64_t n QSEM_OPT(1));
    bool try_acquire(int64_t n QSEM_OPT(1), double timeout QSEM_OPT(0.0));
    bool try_acquire_ns(int64_t n, int64_t timeout_ns);
    void release(int64_t n QSEM_OPT(1));
    int64_t available();
    int64_t waiting();
    int64_t max();
    bool closed();
    void close();
    Semaphore *dup();
}


%constant int64_t VALUE_MAX = QSEM_VALUE_MAX;
%constant const char *VERSION = QSEM_VERSION_STRING;
const char *qsem_backend(void);


#if defined(SWIGRUBY)
%init %{
    {
        /* Modelled on ClosedQueueError: a StopIteration, so `loop { sem.acquire }` ends on close. */
        VALUE qsem_mod = rb_const_get(rb_cObject, rb_intern("Qsem"));
        rb_define_class_under(qsem_mod, "ClosedError", rb_eStopIteration);
    }
%}
#endif

#if defined(SWIGPERL)
%{
/* CLONE's half in C: `count` more proxies now share the box at `addr`.  The
 * parent thread still owns the box while perl clones, so it is alive. */
static void qsem_swig_perl_share(uint64_t addr, int64_t count)
{
    Semaphore *self = (Semaphore *)(uintptr_t)addr;
    atomic_fetch_add_explicit(&self->refs, (long)count, memory_order_relaxed);
}
%}
%noexception qsem_swig_perl_share;
void qsem_swig_perl_share(uint64_t addr, int64_t count);

%perlcode %{
package qsem::Semaphore;

# ithreads copy every object into a new thread's interpreter, where a copy
# that merely borrowed its parent's handle would dangle once the parent let
# go (CONTRACT.md: no use-after-free from any front end).  So ownership is
# counted per box and per interpreter in %BOXES, which perl copies along with
# everything else; CLONE then adds the new interpreter's count to each box,
# and DESTROY (replacing SWIG's, whose %OWNER keys change in a copy) drops
# one.
our %BOXES;

sub _own {
    my ($self) = @_;
    return $self unless defined $self;
    my $inner = tied(%$self);
    delete $OWNER{"$inner"};
    $BOXES{$$inner}++;
    return $self;
}

{
    no warnings 'redefine';
    # SWIG aliases the glob *dup to *qsemc::Semaphore_dup: keep the XS
    # function before the assignment below replaces both names.
    my $new = \&new;
    my $dup = \&qsemc::Semaphore_dup;
    *new = sub { _own($new->(@_)) };
    *dup = sub { _own($dup->(@_)) };
    *DESTROY = sub {
        return unless $_[0]->isa('HASH');
        my $inner = tied(%{$_[0]});
        return unless defined $inner;
        my $box = $$inner;
        return unless $BOXES{$box};
        delete $BOXES{$box} if --$BOXES{$box} == 0;
        qsemc::delete_Semaphore($inner);
    };
}

sub CLONE {
    qsem::qsem_swig_perl_share($_, $BOXES{$_}) for keys %BOXES;
}
%}
#endif
