// SPDX-License-Identifier: GPL-2.0
/*
 * blkio: make bench-blk's writes. Direct writes to a block device whose
 * contents come from a file of real data, timed one by one.
 *
 *   blkio randwrite DEV DATA BS OPS THREADS
 *   blkio seqwrite DEV DATA BS
 *
 * randwrite: THREADS threads write OPS blocks of BS bytes in all, each at a
 * random BS-aligned offset below the size of DATA, with the BS bytes found at
 * another random aligned offset of DATA.
 * seqwrite: DATA is written to DEV from its start, BS bytes at a time.
 *
 * fio cannot do this: its buffers are random bytes, zeroes, a mix of the two,
 * or a pattern of at most 512 bytes repeated; none of them compresses like
 * real data, and a compressing device's speed depends on just that.
 *
 * Prints one line: ops=N secs=S iops=I mib_s=M lat_p50_us=A lat_p99_us=B
 * lat_p999_us=C.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct job {
	int fd;
	const char *data;
	size_t blocks;		/* BS-sized blocks in DATA */
	size_t bs;
	long ops;
	int random;
	uint64_t seed;
	double *lat;		/* microseconds, one per op */
	int err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: a cheap generator, one state per thread. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void *run(void *arg)
{
	struct job *j = arg;
	void *buf;
	long i;

	if (posix_memalign(&buf, 4096, j->bs)) {
		j->err = ENOMEM;
		return NULL;
	}
	for (i = 0; i < j->ops; i++) {
		size_t dst = j->random ? next(&j->seed) % j->blocks : (size_t)i;
		size_t src = j->random ? next(&j->seed) % j->blocks : (size_t)i;
		double t0;

		/* The copy is the caller's cost, as filling a buffer is fio's. */
		memcpy(buf, j->data + src * j->bs, j->bs);
		t0 = now();
		if (pwrite(j->fd, buf, j->bs, dst * j->bs) != (ssize_t)j->bs) {
			j->err = errno ? errno : EIO;
			break;
		}
		j->lat[i] = (now() - t0) * 1e6;
	}
	free(buf);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *sorted, long n, double p)
{
	long i = (long)(p * (n - 1) + 0.5);

	return sorted[i];
}

int main(int argc, char **argv)
{
	int random = argc == 7 && !strcmp(argv[1], "randwrite");
	int seq = argc == 5 && !strcmp(argv[1], "seqwrite");
	struct job jobs[16];
	pthread_t tids[16];
	long ops, threads = 1, t, done;
	double *lat, t0, secs;
	struct stat st;
	const char *data;
	size_t bs;
	int fd, dfd;

	if (!random && !seq) {
		fprintf(stderr, "usage: blkio randwrite DEV DATA BS OPS THREADS\n"
				"       blkio seqwrite DEV DATA BS\n");
		return 2;
	}
	bs = strtoul(argv[4], NULL, 0);
	fd = open(argv[2], O_WRONLY | O_DIRECT);
	dfd = open(argv[3], O_RDONLY);
	if (fd < 0 || dfd < 0 || fstat(dfd, &st)) {
		perror("blkio: open");
		return 1;
	}
	if (!bs || bs % 4096 || (size_t)st.st_size < bs) {
		fprintf(stderr, "blkio: bad block size %zu for %lld bytes of data\n",
			bs, (long long)st.st_size);
		return 2;
	}
	data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, dfd, 0);
	if (data == MAP_FAILED) {
		perror("blkio: mmap");
		return 1;
	}
	ops = st.st_size / bs;
	if (random) {
		ops = strtol(argv[5], NULL, 0);
		threads = strtol(argv[6], NULL, 0);
		if (ops < 1 || threads < 1 || threads > 16) {
			fprintf(stderr, "blkio: bad OPS or THREADS\n");
			return 2;
		}
	}
	lat = calloc(ops, sizeof(*lat));
	if (!lat)
		return 1;
	for (t = 0, done = 0; t < threads; t++) {
		long n = ops / threads + (t < ops % threads);

		jobs[t] = (struct job){ .fd = fd, .data = data, .blocks = st.st_size / bs,
			.bs = bs, .ops = n, .random = random, .seed = 0x9e3779b97f4a7c15ULL * (t + 1),
			.lat = lat + done };
		done += n;
	}
	t0 = now();
	for (t = 0; t < threads; t++)
		if (pthread_create(&tids[t], NULL, run, &jobs[t]))
			return 1;
	for (t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	secs = now() - t0;
	for (t = 0; t < threads; t++) {
		if (jobs[t].err) {
			fprintf(stderr, "blkio: write: %s\n", strerror(jobs[t].err));
			return 1;
		}
	}
	qsort(lat, ops, sizeof(*lat), cmp);
	printf("ops=%ld secs=%.3f iops=%.0f mib_s=%.2f lat_p50_us=%.1f lat_p99_us=%.1f lat_p999_us=%.1f\n",
	       ops, secs, ops / secs, ops * (double)bs / secs / (1 << 20),
	       pct(lat, ops, 0.5), pct(lat, ops, 0.99), pct(lat, ops, 0.999));
	return 0;
}
