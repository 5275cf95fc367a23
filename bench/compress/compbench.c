// SPDX-License-Identifier: GPL-2.0
/*
 * The compressors through the crypto API (crypto_comp, which zswap's
 * crypto_acomp wraps and zcomp calls) against the same algorithms called
 * from lib/ directly (as 6.12's zram backends call them), page by page on
 * the same pages, in one boot.
 *
 * Write the pages to /sys/kernel/debug/compbench/corpus (a multiple of the
 * page size, at most CORPUS_PAGES pages), then read
 * /sys/kernel/debug/compbench/run: one line per algorithm and API with the
 * median over ROUNDS rounds of the nanoseconds per page to compress and to
 * decompress, and the compressed bytes. Every page is checked on its way
 * back.
 */
#include <linux/crypto.h>
#include <linux/debugfs.h>
#include <linux/ktime.h>
#include <linux/lz4.h>
#include <linux/lzo.h>
#include <linux/module.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <linux/zstd.h>

#define CORPUS_PAGES	4096
#define ROUNDS		5
/* zram's and zswap's output buffers hold twice a page. */
#define DST_LEN		(2 * PAGE_SIZE)
/* The level crypto/zstd.c and zram's zstd backend default to. */
#define ZSTD_LEVEL	3

static u8 *corpus;
static size_t corpus_len;
static DEFINE_MUTEX(lock);

/* One way to compress and decompress a page, with its state. */
struct cb_path {
	const char *algo;
	const char *api;
	int (*compress)(struct cb_path *p, const u8 *src, u8 *dst, unsigned int *dlen);
	int (*decompress)(struct cb_path *p, const u8 *src, unsigned int slen, u8 *dst);
	struct crypto_comp *tfm;
	void *mem;
	zstd_cctx *cctx;
	zstd_dctx *dctx;
	zstd_parameters zparams;
};

static int crypto_compress(struct cb_path *p, const u8 *src, u8 *dst, unsigned int *dlen)
{
	*dlen = DST_LEN;
	return crypto_comp_compress(p->tfm, src, PAGE_SIZE, dst, dlen);
}

static int crypto_decompress(struct cb_path *p, const u8 *src, unsigned int slen, u8 *dst)
{
	unsigned int dlen = PAGE_SIZE;
	int err = crypto_comp_decompress(p->tfm, src, slen, dst, &dlen);

	return err ?: dlen == PAGE_SIZE ? 0 : -EINVAL;
}

static int lz4_compress(struct cb_path *p, const u8 *src, u8 *dst, unsigned int *dlen)
{
	int n = LZ4_compress_default(src, dst, PAGE_SIZE, DST_LEN, p->mem);

	*dlen = n;
	return n > 0 ? 0 : -EINVAL;
}

static int lz4_decompress(struct cb_path *p, const u8 *src, unsigned int slen, u8 *dst)
{
	return LZ4_decompress_safe(src, dst, slen, PAGE_SIZE) == PAGE_SIZE ? 0 : -EINVAL;
}

static int lzorle_compress(struct cb_path *p, const u8 *src, u8 *dst, unsigned int *dlen)
{
	size_t n = DST_LEN;
	int err = lzorle1x_1_compress(src, PAGE_SIZE, dst, &n, p->mem);

	*dlen = n;
	return err == LZO_E_OK ? 0 : -EINVAL;
}

static int lzo_decompress(struct cb_path *p, const u8 *src, unsigned int slen, u8 *dst)
{
	size_t n = PAGE_SIZE;
	int err = lzo1x_decompress_safe(src, slen, dst, &n);

	return err == LZO_E_OK && n == PAGE_SIZE ? 0 : -EINVAL;
}

static int zstd_compress(struct cb_path *p, const u8 *src, u8 *dst, unsigned int *dlen)
{
	size_t n = zstd_compress_cctx(p->cctx, dst, DST_LEN, src, PAGE_SIZE, &p->zparams);

	*dlen = n;
	return zstd_is_error(n) ? -EINVAL : 0;
}

static int zstd_decompress(struct cb_path *p, const u8 *src, unsigned int slen, u8 *dst)
{
	size_t n = zstd_decompress_dctx(p->dctx, dst, PAGE_SIZE, src, slen);

	return !zstd_is_error(n) && n == PAGE_SIZE ? 0 : -EINVAL;
}

static struct cb_path paths[] = {
	{ "lz4", "crypto", crypto_compress, crypto_decompress },
	{ "lz4", "lib", lz4_compress, lz4_decompress },
	{ "lzo-rle", "crypto", crypto_compress, crypto_decompress },
	{ "lzo-rle", "lib", lzorle_compress, lzo_decompress },
	{ "zstd", "crypto", crypto_compress, crypto_decompress },
	{ "zstd", "lib", zstd_compress, zstd_decompress },
};

static int path_init(struct cb_path *p)
{
	size_t len;

	if (!strcmp(p->api, "crypto")) {
		p->tfm = crypto_alloc_comp(p->algo, 0, 0);
		return PTR_ERR_OR_ZERO(p->tfm);
	}
	if (!strcmp(p->algo, "lz4")) {
		p->mem = vmalloc(LZ4_MEM_COMPRESS);
		return p->mem ? 0 : -ENOMEM;
	}
	if (!strcmp(p->algo, "lzo-rle")) {
		p->mem = vmalloc(LZO1X_1_MEM_COMPRESS);
		return p->mem ? 0 : -ENOMEM;
	}
	/* As zram's zstd backend: parameters for a page-sized input. */
	p->zparams = zstd_get_params(ZSTD_LEVEL, PAGE_SIZE);
	len = zstd_cctx_workspace_bound(&p->zparams.cParams);
	p->mem = vmalloc(len + zstd_dctx_workspace_bound());
	if (!p->mem)
		return -ENOMEM;
	p->cctx = zstd_init_cctx(p->mem, len);
	p->dctx = zstd_init_dctx(p->mem + len, zstd_dctx_workspace_bound());
	return p->cctx && p->dctx ? 0 : -EINVAL;
}

static void path_exit(struct cb_path *p)
{
	if (!IS_ERR_OR_NULL(p->tfm))
		crypto_free_comp(p->tfm);
	vfree(p->mem);
	p->tfm = NULL;
	p->mem = NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

struct result {
	u64 comp_ns[ROUNDS];
	u64 decomp_ns[ROUNDS];
	u64 bytes;
};

/*
 * One round of path @p over the corpus: compress every page into @out (a
 * slot of DST_LEN per page), then decompress and check every page.
 */
static int path_round(struct cb_path *p, u8 *out, unsigned int *lens, u8 *page,
		      struct result *r, int round)
{
	size_t i, pages = corpus_len / PAGE_SIZE;
	u64 t0, bytes = 0;
	int err;

	t0 = ktime_get_ns();
	for (i = 0; i < pages; i++) {
		err = p->compress(p, corpus + i * PAGE_SIZE, out + i * DST_LEN, &lens[i]);
		if (err)
			return err;
		bytes += lens[i];
		cond_resched();
	}
	r->comp_ns[round] = ktime_get_ns() - t0;
	r->bytes = bytes;
	t0 = ktime_get_ns();
	for (i = 0; i < pages; i++) {
		err = p->decompress(p, out + i * DST_LEN, lens[i], page);
		if (err)
			return err;
		if (memcmp(page, corpus + i * PAGE_SIZE, PAGE_SIZE))
			return -EBADMSG;
		cond_resched();
	}
	r->decomp_ns[round] = ktime_get_ns() - t0;
	return 0;
}

static int run_show(struct seq_file *m, void *unused)
{
	size_t i, pages = corpus_len / PAGE_SIZE;
	struct result *results;
	unsigned int *lens;
	u8 *out, *page;
	int round, err = 0;

	mutex_lock(&lock);
	if (!pages) {
		err = -ENODATA;
		goto unlock;
	}
	results = kcalloc(ARRAY_SIZE(paths), sizeof(*results), GFP_KERNEL);
	lens = kvcalloc(pages, sizeof(*lens), GFP_KERNEL);
	out = vmalloc(pages * DST_LEN);
	page = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!results || !lens || !out || !page) {
		err = -ENOMEM;
		goto free;
	}
	for (i = 0; i < ARRAY_SIZE(paths) && !err; i++)
		err = path_init(&paths[i]);
	/*
	 * Rounds interleave the paths, and alternate their order, so that
	 * both APIs of an algorithm meet the same caches and the same host.
	 */
	for (round = 0; round < ROUNDS && !err; round++) {
		for (i = 0; i < ARRAY_SIZE(paths) && !err; i++) {
			size_t k = round & 1 ? i ^ 1 : i;

			err = path_round(&paths[k], out, lens, page, &results[k], round);
			if (err)
				pr_err("compbench: %s through %s: %d\n",
				       paths[k].algo, paths[k].api, err);
		}
	}
	for (i = 0; i < ARRAY_SIZE(paths) && !err; i++) {
		struct result *r = &results[i];

		sort(r->comp_ns, ROUNDS, sizeof(u64), cmp_u64, NULL);
		sort(r->decomp_ns, ROUNDS, sizeof(u64), cmp_u64, NULL);
		seq_printf(m, "algo=%s api=%s pages=%zu compress_ns_per_page=%llu decompress_ns_per_page=%llu compressed_bytes=%llu\n",
			   paths[i].algo, paths[i].api, pages,
			   div_u64(r->comp_ns[ROUNDS / 2], pages),
			   div_u64(r->decomp_ns[ROUNDS / 2], pages), r->bytes);
	}
free:
	for (i = 0; i < ARRAY_SIZE(paths); i++)
		path_exit(&paths[i]);
	kfree(page);
	vfree(out);
	kvfree(lens);
	kfree(results);
unlock:
	mutex_unlock(&lock);
	return err;
}
DEFINE_SHOW_ATTRIBUTE(run);

static ssize_t corpus_write(struct file *file, const char __user *buf, size_t len,
			    loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&lock);
	len = min(len, (size_t)CORPUS_PAGES * PAGE_SIZE - corpus_len);
	ret = len ? len : -ENOSPC;
	if (len && copy_from_user(corpus + corpus_len, buf, len))
		ret = -EFAULT;
	else
		corpus_len += len;
	mutex_unlock(&lock);
	return ret;
}

static const struct file_operations corpus_fops = {
	.owner = THIS_MODULE,
	.write = corpus_write,
};

static struct dentry *dir;

static int __init compbench_init(void)
{
	corpus = vmalloc(CORPUS_PAGES * PAGE_SIZE);
	if (!corpus)
		return -ENOMEM;
	dir = debugfs_create_dir("compbench", NULL);
	debugfs_create_file("corpus", 0200, dir, NULL, &corpus_fops);
	debugfs_create_file("run", 0400, dir, NULL, &run_fops);
	return 0;
}

static void __exit compbench_exit(void)
{
	debugfs_remove(dir);
	vfree(corpus);
}

module_init(compbench_init);
module_exit(compbench_exit);
MODULE_DESCRIPTION("The compressors through the crypto API and through lib/, page by page");
MODULE_LICENSE("GPL");
