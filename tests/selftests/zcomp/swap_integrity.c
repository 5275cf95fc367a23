// SPDX-License-Identifier: GPL-2.0
/*
 * swap_integrity: every page that goes out to compressed swap comes back
 * with the bytes it had.
 *
 * Forked children each fill anonymous memory with a realistic mix of page
 * contents (zero pages, same-filled pages, incompressible random pages and,
 * for the rest, 4 KiB pages cut from the system's executables, libraries
 * and text, each mutated so that no two are equal), keep a 64-bit hash of
 * every page in a separate array, then walk the pages in random order for
 * a number of rounds, checking each hash and rewriting about one page in
 * eight (so swap slots are freed and refilled), and check every page once
 * more at the end. Run in a memory cgroup whose limit is below the working
 * set, this pushes the pages through zswap (or zcomp) and the swap device
 * and back, across rewrites, compressor changes and swapoff.
 *
 * With -w the children stop after filling; the parent prints "ready" and
 * waits for SIGUSR1, forwards it, and the children check every page once:
 * the caller can swapoff the device in between.
 *
 * Exit status 0 if no page ever differed from its hash, 1 otherwise; the
 * last line on stdout is "swap_integrity: procs=N pages=N mismatches=N".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CORPUS_MAX_BYTES	(4UL << 20)	/* all sources together */
#define ELF_PAGES_PER_FILE	8
#define TEXT_BYTES_PER_FILE	(32UL << 10)
#define MAX_DIR_ENTRIES		4000		/* bounds the scan on slow filesystems */
#define MAX_REPORTED		5		/* mismatches printed per child */

enum page_kind { KIND_ZERO, KIND_SAME, KIND_RANDOM, KIND_CORPUS };
static const char *const kind_name[] = { "zero", "same-filled", "random", "corpus" };

static size_t page_size;

/* Read-only after setup, shared copy-on-write by the children. */
static unsigned char *corpus;
static size_t corpus_pages, corpus_cap;
static unsigned int corpus_files;

struct child_result {
	uint64_t pages;
	uint64_t mismatches;
	int finished;
};

/* xoshiro256**, seeded with splitmix64. */
struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform enough for the small ranges used here. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (rng_next(r) >> 11) % n;
}

/*
 * 64-bit hash of a page: xxhash64's round and final mix over 64-bit words,
 * so that any change of any byte changes the result with overwhelming
 * probability.
 */
#define PRIME1 0x9e3779b185ebca87ULL
#define PRIME2 0xc2b2ae3d27d4eb4fULL
#define PRIME3 0x165667b19e3779f9ULL

static uint64_t page_hash(const unsigned char *p, size_t len)
{
	uint64_t h = PRIME3 ^ len, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h ^= rotl64(w * PRIME2, 31) * PRIME1;
		h = rotl64(h, 27) * PRIME1 + PRIME3;
	}
	h ^= h >> 33;
	h *= PRIME2;
	h ^= h >> 29;
	h *= PRIME3;
	h ^= h >> 32;
	return h;
}

static int all_zero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static int corpus_full(void)
{
	return corpus_pages * page_size >= CORPUS_MAX_BYTES;
}

static void corpus_add(const unsigned char *page)
{
	if (corpus_full() || all_zero(page, page_size))
		return;
	if (corpus_pages == corpus_cap) {
		size_t cap = corpus_cap ? corpus_cap * 2 : 64;
		unsigned char *n = realloc(corpus, cap * page_size);

		if (!n)
			return;
		corpus = n;
		corpus_cap = cap;
	}
	memcpy(corpus + corpus_pages * page_size, page, page_size);
	corpus_pages++;
}

/* Up to max_pages whole pages spread over an ELF file. */
static void corpus_add_elf(const char *path, size_t max_pages, size_t *budget)
{
	unsigned char *buf = malloc(page_size);
	size_t npages, step, i, before;
	struct stat st;
	int fd;

	if (!buf)
		return;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < (off_t)page_size)
		goto out_close;
	if (pread(fd, buf, 4, 0) != 4 || memcmp(buf, "\177ELF", 4))
		goto out_close;

	npages = st.st_size / page_size;
	if (max_pages > *budget)
		max_pages = *budget;
	step = npages > max_pages ? npages / max_pages : 1;
	before = corpus_pages;
	for (i = 0; i < npages && corpus_pages - before < max_pages; i += step) {
		if (pread(fd, buf, page_size, i * page_size) != (ssize_t)page_size)
			break;
		corpus_add(buf);
	}
	if (corpus_pages > before) {
		corpus_files++;
		*budget -= corpus_pages - before;
	}
out_close:
	close(fd);
out:
	free(buf);
}

static void corpus_add_elf_dir(const char *dir, size_t budget)
{
	char path[4096];
	struct dirent *de;
	unsigned int seen = 0;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while (budget && !corpus_full() && seen++ < MAX_DIR_ENTRIES &&
	       (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		corpus_add_elf(path, ELF_PAGES_PER_FILE, &budget);
	}
	closedir(d);
}

/*
 * Text is gathered as one stream, so that short files (most of
 * /usr/share/doc) still make whole pages, as they would in a process
 * holding them in memory.
 */
struct text_stream {
	unsigned char *buf;
	size_t len;
	size_t budget;		/* pages */
};

static void text_flush_pages(struct text_stream *ts)
{
	size_t off = 0;

	while (ts->len - off >= page_size && ts->budget && !corpus_full()) {
		size_t before = corpus_pages;

		corpus_add(ts->buf + off);
		if (corpus_pages > before)
			ts->budget--;
		off += page_size;
	}
	memmove(ts->buf, ts->buf + off, ts->len - off);
	ts->len -= off;
}

static int is_compressed_name(const char *name)
{
	static const char *const ext[] = { ".gz", ".xz", ".bz2", ".zst", ".lz4",
					   ".Z", ".zip", ".png", ".jpg", ".gif" };
	size_t n = strlen(name), i;

	for (i = 0; i < ARRAY_SIZE(ext); i++) {
		size_t e = strlen(ext[i]);

		if (n > e && !strcmp(name + n - e, ext[i]))
			return 1;
	}
	return 0;
}

static void text_add_file(struct text_stream *ts, const char *path, size_t max_bytes)
{
	size_t want = max_bytes;
	struct stat st;
	int fd;

	if (!ts->budget || corpus_full() || is_compressed_name(path))
		return;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size) {
		close(fd);
		return;
	}
	while (want && ts->budget) {
		size_t room = page_size * 2 - ts->len;
		ssize_t n;

		if (room > want)
			room = want;
		n = read(fd, ts->buf + ts->len, room);
		if (n <= 0)
			break;
		/* Text only: drop what a binary file brought in, and stop. */
		if (memchr(ts->buf + ts->len, 0, n))
			break;
		ts->len += n;
		want -= n;
		text_flush_pages(ts);
	}
	if (want < max_bytes)
		corpus_files++;
	close(fd);
}

/* Files of a directory tree, to a small depth. */
static void text_add_tree(struct text_stream *ts, const char *dir, int depth,
			  size_t max_bytes, unsigned int *seen)
{
	char path[4096];
	struct dirent *de;
	struct stat st;
	int type;
	DIR *d;

	if (depth < 0 || !ts->budget || corpus_full())
		return;
	d = opendir(dir);
	if (!d)
		return;
	while (ts->budget && !corpus_full() && (*seen)++ < MAX_DIR_ENTRIES &&
	       (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		type = de->d_type;
		/* Some network filesystems leave d_type unknown. */
		if (type == DT_UNKNOWN && !lstat(path, &st)) {
			if (S_ISDIR(st.st_mode))
				type = DT_DIR;
			else if (S_ISREG(st.st_mode))
				type = DT_REG;
		}
		if (type == DT_DIR)
			text_add_tree(ts, path, depth - 1, max_bytes, seen);
		else if (type == DT_REG)
			text_add_file(ts, path, max_bytes);
	}
	closedir(d);
}

/* Text-like filler for a system with nothing readable: words and numbers. */
static void corpus_generate(uint64_t seed)
{
	static const char *const words[] = {
		"the", "of", "and", "to", "in", "is", "that", "for", "it", "as",
		"with", "page", "memory", "swap", "kernel", "process", "file",
		"license", "software", "program", "copy", "under", "terms",
		"distribution", "source", "code", "without", "warranty", "any",
		"may", "not", "this", "be", "or", "by", "on", "are", "from",
	};
	unsigned char *page = malloc(page_size);
	struct rng r;
	size_t i, n;

	if (!page)
		return;
	rng_seed(&r, seed ^ 0x746578746c696b65ULL);
	for (n = 0; n < 256 && !corpus_full(); n++) {
		for (i = 0; i < page_size;) {
			char w[32];
			int len;
			uint64_t x = rng_below(&r, 100);

			if (x < 5)
				len = snprintf(w, sizeof(w), "%llu",
					       (unsigned long long)rng_below(&r, 100000));
			else
				len = snprintf(w, sizeof(w), "%s",
					       words[rng_below(&r, ARRAY_SIZE(words))]);
			if (x >= 95)
				w[len++] = x & 1 ? '.' : ',';
			w[len++] = rng_below(&r, 12) ? ' ' : '\n';
			if ((size_t)len > page_size - i)
				len = page_size - i;
			memcpy(page + i, w, len);
			i += len;
		}
		corpus_add(page);
	}
	free(page);
}

static void build_corpus(uint64_t seed)
{
	size_t third = CORPUS_MAX_BYTES / page_size / 3;
	struct text_stream ts = { .budget = third };
	unsigned int seen = 0;

	corpus_add_elf_dir("/usr/bin", third);
	corpus_add_elf_dir("/usr/lib/x86_64-linux-gnu", third);

	ts.buf = malloc(page_size * 2);
	if (ts.buf) {
		text_add_file(&ts, "/usr/share/dict/words", 128UL << 10);
		text_add_tree(&ts, "/usr/share/common-licenses", 0, TEXT_BYTES_PER_FILE, &seen);
		seen = 0;
		text_add_tree(&ts, "/usr/share/doc", 2, TEXT_BYTES_PER_FILE, &seen);
		free(ts.buf);
	}

	if (!corpus_pages) {
		printf("# no readable files: generated text-like corpus\n");
		corpus_generate(seed);
	}
}

/* New contents for page idx; returns its kind. */
static enum page_kind fill_page(unsigned char *p, struct rng *r, uint64_t idx,
				uint64_t seed, uint64_t gen)
{
	uint64_t x = rng_below(r, 100), w;
	size_t i, off;

	if (x < 10) {
		memset(p, 0, page_size);
		return KIND_ZERO;
	}
	if (x < 15) {
		do
			w = rng_next(r);
		while (!w);
		for (i = 0; i < page_size; i += 8)
			memcpy(p + i, &w, 8);
		return KIND_SAME;
	}
	if (x < 20) {
		for (i = 0; i < page_size; i += 8) {
			w = rng_next(r);
			memcpy(p + i, &w, 8);
		}
		return KIND_RANDOM;
	}
	memcpy(p, corpus + rng_below(r, corpus_pages) * page_size, page_size);
	/* Make it unique: page number, seed and generation at a random offset. */
	off = rng_below(r, page_size - 24 + 1);
	memcpy(p + off, &idx, 8);
	memcpy(p + off + 8, &seed, 8);
	memcpy(p + off + 16, &gen, 8);
	return KIND_CORPUS;
}

struct child {
	int id;
	pid_t pid;
	unsigned char *mem;
	size_t npages;
	uint64_t *hashes;
	unsigned char *kinds;
	uint64_t seed;
	uint64_t mismatches;
	struct rng rng;
};

static void check_page(struct child *c, size_t idx, const char *when)
{
	uint64_t h = page_hash(c->mem + idx * page_size, page_size);

	if (h == c->hashes[idx])
		return;
	if (c->mismatches < MAX_REPORTED)
		fprintf(stderr,
			"swap_integrity: child %d (pid %d): %s: page %zu (%s): expected %016llx actual %016llx\n",
			c->id, (int)c->pid, when, idx, kind_name[c->kinds[idx]],
			(unsigned long long)c->hashes[idx], (unsigned long long)h);
	else if (c->mismatches == MAX_REPORTED)
		fprintf(stderr, "swap_integrity: child %d: further mismatches not shown\n",
			c->id);
	c->mismatches++;
	/* Count each corrupted page once, not in every later pass. */
	c->hashes[idx] = h;
}

static void check_all(struct child *c, const char *when)
{
	size_t i;

	for (i = 0; i < c->npages; i++)
		check_page(c, i, when);
}

static int child_main(int id, size_t mib, unsigned int rounds, uint64_t seed,
		      int ready_fd, struct child_result *res)
{
	struct child c = { .id = id, .pid = getpid(), .seed = seed + id };
	uint64_t gen = 0;
	size_t *order, i, j;
	unsigned int round;
	char when[32];

	c.npages = (mib << 20) / page_size;
	rng_seed(&c.rng, c.seed);
	c.mem = mmap(NULL, c.npages * page_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c.hashes = calloc(c.npages, sizeof(*c.hashes));
	c.kinds = calloc(c.npages, 1);
	order = calloc(c.npages, sizeof(*order));
	if (c.mem == MAP_FAILED || !c.hashes || !c.kinds || !order) {
		fprintf(stderr, "swap_integrity: child %d: out of memory\n", id);
		return 1;
	}
	/* Base pages: the point is the per-page path through swap. */
	madvise(c.mem, c.npages * page_size, MADV_NOHUGEPAGE);

	for (i = 0; i < c.npages; i++) {
		unsigned char *p = c.mem + i * page_size;

		c.kinds[i] = fill_page(p, &c.rng, i, c.seed, gen);
		c.hashes[i] = page_hash(p, page_size);
	}
	res->pages = c.npages;

	if (ready_fd >= 0) {
		sigset_t usr1;
		int sig;

		if (write(ready_fd, "r", 1) != 1)
			return 1;
		close(ready_fd);
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		while (sigwait(&usr1, &sig))
			;
		check_all(&c, "after SIGUSR1");
		goto out;
	}

	for (i = 0; i < c.npages; i++)
		order[i] = i;
	for (round = 1; round <= rounds; round++) {
		snprintf(when, sizeof(when), "round %u", round);
		for (i = c.npages - 1; i > 0; i--) {
			size_t t;

			j = rng_below(&c.rng, i + 1);
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (i = 0; i < c.npages; i++) {
			size_t idx = order[i];
			unsigned char *p = c.mem + idx * page_size;

			check_page(&c, idx, when);
			if (!rng_below(&c.rng, 8)) {
				c.kinds[idx] = fill_page(p, &c.rng, idx, c.seed, ++gen);
				c.hashes[idx] = page_hash(p, page_size);
			}
		}
	}
	check_all(&c, "final pass");
out:
	res->mismatches = c.mismatches;
	res->finished = 1;
	return c.mismatches ? 1 : 0;
}

static void print_help(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-p procs] [-m MiB-per-proc] [-r rounds] [-s seed] [-w]\n"
		"  -w  fill, print \"ready\", wait for SIGUSR1, check every page once\n",
		prog);
	exit(2);
}

static unsigned long parse_num(const char *s, const char *prog)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		print_help(prog);
	return v;
}

int main(int argc, char **argv)
{
	unsigned long procs = 2, mib = 16, rounds = 2;
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	struct child_result *results;
	int wait_mode = 0, ready_pipe[2] = { -1, -1 };
	uint64_t pages = 0, mismatches = 0;
	sigset_t usr1;
	pid_t *pids, parent = getpid();
	int opt, failed = 0;
	unsigned long i;

	while ((opt = getopt(argc, argv, "p:m:r:s:wh")) != -1) {
		switch (opt) {
		case 'p':
			procs = parse_num(optarg, argv[0]);
			break;
		case 'm':
			mib = parse_num(optarg, argv[0]);
			break;
		case 'r':
			rounds = parse_num(optarg, argv[0]);
			break;
		case 's':
			seed = parse_num(optarg, argv[0]);
			break;
		case 'w':
			wait_mode = 1;
			break;
		default:
			print_help(argv[0]);
		}
	}
	if (optind != argc || !procs || procs > 1024 || !mib || mib > (SIZE_MAX >> 21))
		print_help(argv[0]);

	page_size = sysconf(_SC_PAGESIZE);

	/*
	 * SIGUSR1 stays blocked everywhere and is taken with sigwait(): one
	 * sent before anybody waits for it is kept pending, not fatal.
	 */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	build_corpus(seed);
	printf("# seed=%llu corpus: %zu pages from %u files\n",
	       (unsigned long long)seed, corpus_pages, corpus_files);
	fflush(stdout);

	results = mmap(NULL, procs * sizeof(*results), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc(procs, sizeof(*pids));
	if (results == MAP_FAILED || !pids) {
		perror("swap_integrity");
		return 1;
	}
	if (wait_mode && pipe(ready_pipe)) {
		perror("swap_integrity: pipe");
		return 1;
	}

	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("swap_integrity: fork");
			failed = 1;
			break;
		}
		if (!pids[i]) {
			/* Not left waiting for a SIGUSR1 that nobody will forward. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(1);
			if (ready_pipe[0] >= 0)
				close(ready_pipe[0]);
			_exit(child_main(i, mib, rounds, seed, ready_pipe[1], &results[i]));
		}
	}
	procs = i;

	if (wait_mode) {
		unsigned long ready = 0;
		char buf[64];
		ssize_t n;
		int sig;

		close(ready_pipe[1]);
		while (!failed && ready < procs &&
		       ((n = read(ready_pipe[0], buf, sizeof(buf))) > 0 ||
			(n < 0 && errno == EINTR)))
			if (n > 0)
				ready += n;
		close(ready_pipe[0]);
		if (!failed && ready == procs) {
			printf("ready\n");
			fflush(stdout);
			while (sigwait(&usr1, &sig))
				;
			for (i = 0; i < procs; i++)
				kill(pids[i], SIGUSR1);
		} else {
			fprintf(stderr, "swap_integrity: %lu of %lu children got ready\n",
				ready, procs);
			failed = 1;
			for (i = 0; i < procs; i++)
				kill(pids[i], SIGKILL);
		}
	}

	for (i = 0; i < procs; i++) {
		int status;

		while (waitpid(pids[i], &status, 0) < 0) {
			if (errno != EINTR) {
				status = -1;
				break;
			}
		}
		pages += results[i].pages;
		mismatches += results[i].mismatches;
		if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			failed = 1;
			if (status != -1 && WIFSIGNALED(status))
				fprintf(stderr, "swap_integrity: child %lu killed by signal %d\n",
					i, WTERMSIG(status));
			else if (!results[i].finished)
				fprintf(stderr, "swap_integrity: child %lu did not finish\n", i);
		}
	}

	printf("swap_integrity: procs=%lu pages=%llu mismatches=%llu\n", procs,
	       (unsigned long long)pages, (unsigned long long)mismatches);
	free(pids);
	return failed || mismatches ? 1 : 0;
}
