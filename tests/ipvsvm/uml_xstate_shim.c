/*
 * LD_PRELOAD shim for Debian's user-mode-linux 6.1 (linux.uml) on hosts with AVX-512/AMX.
 *
 * Why: UML 6.1 saves and restores its guest processes' FPU state with
 * ptrace(PTRACE_GETREGSET/PTRACE_SETREGSET, NT_X86_XSTATE) using a fixed buffer sized for
 * AVX2 (struct _xstate). The host kernel's xstateregs_set() only accepts a buffer of exactly
 * the host's full XSAVE size, so on an AVX-512 host every SETREGSET fails with EFAULT and
 * the first guest process dies ("userspace - ptrace set fp regs failed, errno = 14").
 * Forcing UML onto its legacy PTRACE_GETFPREGS path is no fix: it loses the AVX state
 * around page faults and guest programs (python) compute garbage.
 *
 * This shim keeps a full-size shadow copy of the XSAVE area for every buffer UML reads
 * into, hands UML the prefix it asked for, and on SETREGSET writes UML's prefix over the
 * shadow and sends the full-size buffer, so the host kernel is satisfied and no state is
 * lost. Upstream Linux fixed UML itself later (it now sizes the buffer from the host).
 *
 * Built on demand by tests/ipvsvm/guest.py (cc -shared -fPIC -O2 ... -ldl).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NT_X86_XSTATE 0x202
#define MAX_XSTATE (64 * 1024)
#define SLOTS 4096

struct shadow {
	void *key;           /* UML's buffer address: one per guest task (thread_struct) */
	unsigned char *buf;  /* MAX_XSTATE bytes */
	int valid;           /* buf holds a full state read through this key */
};

static struct shadow table[SLOTS];
static size_t full_size;  /* the host's XSAVE size, learnt from the first full GETREGSET */
static long (*real_ptrace)(int, pid_t, void *, void *);

static struct shadow *slot(void *key, int create)
{
	size_t h = ((uintptr_t)key >> 4) % SLOTS;
	for (size_t i = 0; i < SLOTS; i++) {
		struct shadow *s = &table[(h + i) % SLOTS];
		if (s->key == key)
			return s;
		if (s->key == NULL) {
			if (!create)
				return NULL;
			s->buf = malloc(MAX_XSTATE);
			if (s->buf == NULL)
				return NULL;
			s->key = key;
			return s;
		}
	}
	return NULL;  /* table full: caller falls back to a temporary buffer */
}

static long get_full(pid_t pid, unsigned char *buf)
{
	struct iovec kiov = { buf, MAX_XSTATE };
	long r = real_ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &kiov);
	if (r >= 0)
		full_size = kiov.iov_len;
	return r;
}

long ptrace(enum __ptrace_request req, ...)
{
	va_list ap;
	va_start(ap, req);
	pid_t pid = va_arg(ap, pid_t);
	void *addr = va_arg(ap, void *);
	void *data = va_arg(ap, void *);
	va_end(ap);

	if (real_ptrace == NULL)
		real_ptrace = (long (*)(int, pid_t, void *, void *))dlsym(RTLD_NEXT, "ptrace");
	if ((req != PTRACE_GETREGSET && req != PTRACE_SETREGSET) ||
	    (uintptr_t)addr != NT_X86_XSTATE || data == NULL)
		return real_ptrace(req, pid, addr, data);

	struct iovec *iov = data;
	if (req == PTRACE_GETREGSET) {
		struct shadow *s = slot(iov->iov_base, 1);
		unsigned char tmp_missing = (s == NULL);
		unsigned char *buf = tmp_missing ? malloc(MAX_XSTATE) : s->buf;
		if (buf == NULL)
			return real_ptrace(req, pid, addr, data);
		long r = get_full(pid, buf);
		if (s != NULL)
			s->valid = r >= 0;
		if (r >= 0) {
			size_t n = iov->iov_len < full_size ? iov->iov_len : full_size;
			memcpy(iov->iov_base, buf, n);
			iov->iov_len = n;
		}
		if (tmp_missing)
			free(buf);
		return r;
	}

	/* SETREGSET: UML's prefix over the last full state read into the same buffer */
	struct shadow *s = slot(iov->iov_base, 1);
	unsigned char *buf = s ? s->buf : malloc(MAX_XSTATE);
	if (buf == NULL)
		return real_ptrace(req, pid, addr, data);
	if (s == NULL || !s->valid) {
		/* never read through this buffer (e.g. copied at fork): start from the task's state */
		if (get_full(pid, buf) < 0) {
			if (s == NULL)
				free(buf);
			return real_ptrace(req, pid, addr, data);
		}
	}
	size_t n = iov->iov_len < full_size ? iov->iov_len : full_size;
	memcpy(buf, iov->iov_base, n);
	struct iovec kiov = { buf, full_size };
	long r = real_ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &kiov);
	if (s != NULL)
		s->valid = r >= 0;
	if (s == NULL)
		free(buf);
	return r;
}
