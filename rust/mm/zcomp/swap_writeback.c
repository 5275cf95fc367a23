// SPDX-License-Identifier: GPL-2.0
/*
 * zcomp's swap frontend: the calls of its writeback that only mm can make.
 *
 * Writing a page back from zcomp to its swap slot takes a new folio in the
 * swap cache, which zcomp fills, and swap I/O; the shrinker and the work
 * that brings the pool back under its limit are registered here; and the
 * LRU, which keeps one list per memory cgroup, learns the cgroup of a charge
 * here. Everything else (which page to write back, and when) is Rust, in
 * mm/zcomp/swap.rs and mm/zcomp/writeback.rs.
 */

#include <linux/err.h>
#include <linux/memcontrol.h>
#include <linux/mempolicy.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/swap.h>
#include <linux/workqueue.h>
#include <linux/writeback.h>
#include <linux/zcomp.h>
#include <linux/zswap.h>

#include "../swap.h"

/*
 * A new folio for @entry in the swap cache, locked, for zcomp to fill and
 * write; ERR_PTR(-EEXIST) if the slot has a folio already (the page is being
 * swapped in, or written back by someone else), ERR_PTR(-ENOMEM) without
 * memory. Once it is in the swap cache, the slot can be neither freed nor
 * stored to nor loaded until the folio goes.
 */
struct folio *mm_zcomp_swapcache_new(swp_entry_t entry)
{
	struct mempolicy *mpol = get_task_policy(current);
	bool allocated;
	struct folio *folio;

	folio = __read_swap_cache_async(entry, GFP_KERNEL, mpol,
					NO_INTERLEAVE_INDEX, &allocated, true);
	if (!folio)
		return ERR_PTR(-ENOMEM);
	if (!allocated) {
		folio_put(folio);
		return ERR_PTR(-EEXIST);
	}
	return folio;
}

/* Takes a folio of mm_zcomp_swapcache_new() back out of the swap cache. */
void mm_zcomp_swapcache_abandon(struct folio *folio)
{
	delete_from_swap_cache(folio);
	folio_unlock(folio);
	folio_put(folio);
}

/*
 * Writes a folio of mm_zcomp_swapcache_new(), now filled, to its slot. Should
 * the write fail, the I/O completion marks the folio dirty again and it stays
 * in the swap cache: reclaim will try to store it again later.
 */
void mm_zcomp_swapcache_write(struct folio *folio)
{
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_NONE,
	};

	folio_mark_uptodate(folio);
	/* Once written, the folio goes to the tail of the inactive list. */
	folio_set_reclaim(folio);
	__swap_writepage(folio, &wbc);
	folio_put(folio);
}

/* The LRU list of a memory cgroup: its id, or 0 for the root and none. */
static unsigned short memcg_list(struct mem_cgroup *memcg)
{
	return !memcg || mem_cgroup_is_root(memcg) ? 0 : mem_cgroup_id(memcg);
}

/* The LRU list of the cgroup @objcg is charged to now. */
unsigned short mm_zcomp_objcg_list(struct obj_cgroup *objcg)
{
	unsigned short list;

	rcu_read_lock();
	list = memcg_list(obj_cgroup_memcg(objcg));
	rcu_read_unlock();
	return list;
}

/* Whether the cgroup of @objcg lets its pages be written back. */
bool mm_zcomp_objcg_writeback_enabled(struct obj_cgroup *objcg)
{
	struct mem_cgroup *memcg = get_mem_cgroup_from_objcg(objcg);
	bool enabled = mem_cgroup_zswap_writeback_enabled(memcg);

	mem_cgroup_put(memcg);
	return enabled;
}

/*
 * Whether the pages of LRU list @list may be written back: its cgroup allows
 * it, or is gone (its pages then belong to an ancestor, which is asked).
 */
bool mm_zcomp_list_writeback_enabled(unsigned short list)
{
	struct mem_cgroup *memcg;
	bool enabled = true;

	if (!list)
		return true;
	rcu_read_lock();
	memcg = mem_cgroup_from_id(list);
	if (memcg && css_tryget(&memcg->css)) {
		rcu_read_unlock();
		enabled = mem_cgroup_zswap_writeback_enabled(memcg);
		mem_cgroup_put(memcg);
		return enabled;
	}
	rcu_read_unlock();
	return enabled;
}

static struct shrinker *zcomp_shrinker;

/*
 * The LRU list of @objcg's cgroup has its first page: have memcg reclaim call
 * the shrinker for it, as list_lru_add() does for a list_lru.
 */
void mm_zcomp_objcg_list_busy(struct obj_cgroup *objcg)
{
	struct mem_cgroup *memcg;
	int nid;

	if (!zcomp_shrinker)
		return;
	rcu_read_lock();
	memcg = obj_cgroup_memcg(objcg);
	for_each_node(nid)
		set_shrinker_bit(memcg, nid, zcomp_shrinker->id);
	rcu_read_unlock();
}

/* Passes the offline cgroup's pages to its parent's list. */
void zswap_memcg_offline_cleanup(struct mem_cgroup *memcg)
{
	mm_zcomp_swap_lru_reparent(memcg_list(memcg),
				   memcg_list(parent_mem_cgroup(memcg)));
}

/*
 * A page was read from the swap device rather than from zcomp: one that
 * writeback should have kept. As zswap does, this protects as many pages of
 * the cgroup from the shrinker (see zcomp_protected()).
 */
void zswap_folio_swapin(struct folio *folio)
{
	if (folio)
		atomic_long_inc(&folio_lruvec(folio)->zswap_lruvec_state.nr_disk_swapins);
}

/*
 * Takes up to @nr of the protection that swap-ins from the device gave
 * @memcg's pages, on every node, and returns how much it took.
 */
static unsigned long zcomp_protected(struct mem_cgroup *memcg, unsigned long nr)
{
	unsigned long taken = 0, cur, left;
	struct lruvec *lruvec;
	atomic_long_t *ins;
	int nid;

	for_each_node_state(nid, N_MEMORY) {
		lruvec = mem_cgroup_lruvec(memcg, NODE_DATA(nid));
		ins = &lruvec->zswap_lruvec_state.nr_disk_swapins;
		cur = atomic_long_read(ins);
		do {
			left = cur > nr - taken ? cur - (nr - taken) : 0;
		} while (!atomic_long_try_cmpxchg(ins, &cur, left));
		taken += cur - left;
	}
	return taken;
}

/*
 * What writing back the cgroup's pages would free, as zswap counts it: its
 * stored pages less those recent swap-ins protect, scaled by the pool
 * memory a stored page takes.
 */
static unsigned long zcomp_shrinker_count(struct shrinker *shrinker,
					  struct shrink_control *sc)
{
	struct mem_cgroup *memcg = sc->memcg;
	unsigned long nr_backing, nr_stored, nr_freeable;

	if (!mm_zcomp_swap_shrinker_enabled() ||
	    !mem_cgroup_zswap_writeback_enabled(memcg))
		return 0;
	/* Writeback enters the block layer, and may enter a filesystem. */
	if (!gfp_has_io_fs(sc->gfp_mask))
		return 0;
	if (mm_zcomp_swap_lru_empty(memcg_list(memcg)))
		return SHRINK_EMPTY;
	if (!mem_cgroup_disabled()) {
		mem_cgroup_flush_stats(memcg);
		nr_backing = memcg_page_state(memcg, MEMCG_ZSWAP_B) >> PAGE_SHIFT;
		nr_stored = memcg_page_state(memcg, MEMCG_ZSWAPPED);
	} else {
		nr_backing = zswap_total_pages();
		nr_stored = atomic_read(&zswap_stored_pages);
	}
	if (!nr_stored)
		return 0;
	nr_freeable = nr_stored - zcomp_protected(memcg, nr_stored);
	return mult_frac(nr_freeable, nr_backing, nr_stored);
}

static unsigned long zcomp_shrinker_scan(struct shrinker *shrinker,
					 struct shrink_control *sc)
{
	unsigned long written;

	if (!mm_zcomp_swap_shrinker_enabled() ||
	    !mem_cgroup_zswap_writeback_enabled(sc->memcg)) {
		sc->nr_scanned = 0;
		return SHRINK_STOP;
	}
	written = mm_zcomp_swap_shrink(memcg_list(sc->memcg), sc->nr_to_scan);
	return written ?: SHRINK_STOP;
}

static struct workqueue_struct *zcomp_shrink_wq;

/* Writes back cold pages until the pool is under its accept threshold. */
static void zcomp_shrink_worker(struct work_struct *work)
{
	while (mm_zcomp_swap_shrink_step())
		cond_resched();
}

static DECLARE_WORK(zcomp_shrink_work, zcomp_shrink_worker);

/* The pool reached its limit: bring it back under the accept threshold. */
void mm_zcomp_swap_queue_shrink(void)
{
	if (zcomp_shrink_wq)
		queue_work(zcomp_shrink_wq, &zcomp_shrink_work);
}

/* Called once, when the swap frontend starts. */
int __init mm_zcomp_swap_writeback_init(void)
{
	zcomp_shrink_wq = alloc_workqueue("zswap-shrink",
					  WQ_UNBOUND | WQ_MEM_RECLAIM, 1);
	if (!zcomp_shrink_wq)
		return -ENOMEM;
	zcomp_shrinker = shrinker_alloc(SHRINKER_MEMCG_AWARE, "mm-zswap");
	if (!zcomp_shrinker) {
		destroy_workqueue(zcomp_shrink_wq);
		zcomp_shrink_wq = NULL;
		return -ENOMEM;
	}
	zcomp_shrinker->count_objects = zcomp_shrinker_count;
	zcomp_shrinker->scan_objects = zcomp_shrinker_scan;
	zcomp_shrinker->batch = 0;
	zcomp_shrinker->seeks = DEFAULT_SEEKS;
	shrinker_register(zcomp_shrinker);
	return 0;
}
