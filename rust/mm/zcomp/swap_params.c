// SPDX-License-Identifier: GPL-2.0
/*
 * zcomp's swap frontend: zswap's module parameters and the state the rest of
 * mm reads directly.
 *
 * The parameters keep zswap's names and prefix, so /sys/module/zswap/parameters
 * and the zswap.* boot parameters work as they do with mm/zswap.c. Everything
 * else of the swap frontend is Rust (mm/zcomp/swap.rs).
 */

#include <linux/crypto.h>
#include <linux/init.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/zcomp.h>
#include <linux/zswap.h>

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "zswap."

/* Pages zswap's interface holds, for /proc/meminfo's Zswapped. */
atomic_t zswap_stored_pages = ATOMIC_INIT(0);

/* Whether zswap has been enabled since boot: until then, loads need not look. */
static DEFINE_STATIC_KEY_MAYBE(CONFIG_ZSWAP_DEFAULT_ON, zswap_ever_enabled);

/* Set once zcomp has started: until then parameters are only recorded. */
static bool zcomp_swap_started;

static bool zswap_enabled = IS_ENABLED(CONFIG_ZSWAP_DEFAULT_ON);

static int zswap_enabled_param_set(const char *val,
				   const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret && zcomp_swap_started && READ_ONCE(zswap_enabled))
		static_branch_enable(&zswap_ever_enabled);
	return ret;
}

static const struct kernel_param_ops zswap_enabled_param_ops = {
	.set = zswap_enabled_param_set,
	.get = param_get_bool,
};
module_param_cb(enabled, &zswap_enabled_param_ops, &zswap_enabled, 0644);

static char zswap_compressor[CRYPTO_MAX_ALG_NAME] = CONFIG_ZSWAP_COMPRESSOR_DEFAULT;

static int zswap_compressor_param_set(const char *val,
				      const struct kernel_param *kp)
{
	char name[CRYPTO_MAX_ALG_NAME];
	int ret;

	if (strscpy(name, val, sizeof(name)) < 0)
		return -EINVAL;
	strim(name);
	if (!name[0])
		return -EINVAL;
	if (zcomp_swap_started) {
		ret = mm_zcomp_swap_set_compressor(name);
		if (ret)
			return ret;
	}
	strscpy(zswap_compressor, name);
	return 0;
}

static int zswap_compressor_param_get(char *buffer,
				      const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n", zswap_compressor);
}

static const struct kernel_param_ops zswap_compressor_param_ops = {
	.set = zswap_compressor_param_set,
	.get = zswap_compressor_param_get,
};
module_param_cb(compressor, &zswap_compressor_param_ops, NULL, 0644);

/* zcomp has one allocator: the parameter names it and accepts only it. */
static int zswap_zpool_param_set(const char *val,
				 const struct kernel_param *kp)
{
	return sysfs_streq(val, "zcomp") ? 0 : -EINVAL;
}

static int zswap_zpool_param_get(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "zcomp\n");
}

static const struct kernel_param_ops zswap_zpool_param_ops = {
	.set = zswap_zpool_param_set,
	.get = zswap_zpool_param_get,
};
module_param_cb(zpool, &zswap_zpool_param_ops, NULL, 0644);

static unsigned int zswap_max_pool_percent = 20;
module_param_named(max_pool_percent, zswap_max_pool_percent, uint, 0644);

static unsigned int zswap_accept_thr_percent = 90;
module_param_named(accept_threshold_percent, zswap_accept_thr_percent, uint,
		   0644);

static bool zswap_shrinker_enabled =
	IS_ENABLED(CONFIG_ZSWAP_SHRINKER_DEFAULT_ON);
module_param_named(shrinker_enabled, zswap_shrinker_enabled, bool, 0644);

bool zswap_is_enabled(void)
{
	return READ_ONCE(zswap_enabled);
}

bool zswap_never_enabled(void)
{
	return !static_branch_maybe(CONFIG_ZSWAP_DEFAULT_ON, &zswap_ever_enabled);
}

void zswap_lruvec_state_init(struct lruvec *lruvec)
{
	atomic_long_set(&lruvec->zswap_lruvec_state.nr_disk_swapins, 0);
}

bool mm_zcomp_swap_enabled(void)
{
	return READ_ONCE(zswap_enabled);
}

unsigned int mm_zcomp_swap_max_pool_percent(void)
{
	return READ_ONCE(zswap_max_pool_percent);
}

unsigned int mm_zcomp_swap_accept_threshold_percent(void)
{
	return READ_ONCE(zswap_accept_thr_percent);
}

unsigned long mm_zcomp_totalram_pages(void)
{
	return totalram_pages();
}

void mm_zcomp_stored_pages_add(int nr)
{
	atomic_add(nr, &zswap_stored_pages);
}

int mm_zcomp_stored_pages(void)
{
	return atomic_read(&zswap_stored_pages);
}

bool mm_zcomp_swap_shrinker_enabled(void)
{
	return READ_ONCE(zswap_shrinker_enabled);
}

/*
 * zcomp's engine starts at device_initcall time; the boot parameters are
 * applied here, after it. An unknown compressor falls back to the default.
 */
static int __init zcomp_swap_init(void)
{
	if (mm_zcomp_swap_set_compressor(zswap_compressor)) {
		pr_err("zswap: compressor %s not available, using %s\n",
		       zswap_compressor, CONFIG_ZSWAP_COMPRESSOR_DEFAULT);
		strscpy(zswap_compressor, CONFIG_ZSWAP_COMPRESSOR_DEFAULT);
		if (mm_zcomp_swap_set_compressor(zswap_compressor)) {
			pr_err("zswap: no compressor, disabled\n");
			zswap_enabled = false;
			return -ENODEV;
		}
	}
	if (mm_zcomp_swap_writeback_init())
		pr_err("zswap: no shrinker: pages are written back only at limits\n");
	zcomp_swap_started = true;
	if (zswap_enabled)
		static_branch_enable(&zswap_ever_enabled);
	pr_info("zswap: loaded using pool %s/zcomp\n", zswap_compressor);
	return 0;
}
late_initcall(zcomp_swap_init);
