// SPDX-License-Identifier: GPL-2.0
/*
 * zcomp's block frontend: the sysfs tables of zram's ABI.
 *
 * The attribute files of /sys/block/zramN, the zram-control class with its
 * hot_add and hot_remove files, and the zram.num_devices parameter keep
 * zram's names, modes and prefix, so that tools written for zram find what
 * they expect. Every file calls into Rust with its name
 * (mm/zcomp/blk_attrs.rs, mm/zcomp/blk.rs), which does the rest.
 */

#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>
#include <linux/zcomp.h>

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "zram."

static unsigned int num_devices = 1;
module_param(num_devices, uint, 0);
MODULE_PARM_DESC(num_devices, "Number of pre-created zram devices");

unsigned int mm_zcomp_blk_num_devices(void)
{
	return num_devices;
}

static ssize_t blk_attr_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return mm_zcomp_blk_show(dev, attr->attr.name, buf);
}

static ssize_t blk_attr_store(struct device *dev,
			      struct device_attribute *attr, const char *buf,
			      size_t len)
{
	return mm_zcomp_blk_store(dev, attr->attr.name, buf, len);
}

#define BLK_ATTR(_name, _mode)						\
	static struct device_attribute dev_attr_##_name =		\
		__ATTR(_name, _mode, blk_attr_show, blk_attr_store)

BLK_ATTR(disksize, 0644);
BLK_ATTR(initstate, 0444);
BLK_ATTR(reset, 0200);
BLK_ATTR(compact, 0200);
BLK_ATTR(mem_limit, 0200);
BLK_ATTR(mem_used_max, 0200);
BLK_ATTR(max_comp_streams, 0644);
BLK_ATTR(comp_algorithm, 0644);
BLK_ATTR(algorithm_params, 0200);
BLK_ATTR(io_stat, 0444);
BLK_ATTR(mm_stat, 0444);
BLK_ATTR(debug_stat, 0444);
BLK_ATTR(idle, 0200);
BLK_ATTR(backing_dev, 0644);
BLK_ATTR(writeback, 0200);
BLK_ATTR(writeback_limit, 0644);
BLK_ATTR(writeback_limit_enable, 0644);
BLK_ATTR(bd_stat, 0444);
BLK_ATTR(recomp_algorithm, 0644);
BLK_ATTR(recompress, 0200);

static struct attribute *blk_attrs[] = {
	&dev_attr_disksize.attr,
	&dev_attr_initstate.attr,
	&dev_attr_reset.attr,
	&dev_attr_compact.attr,
	&dev_attr_mem_limit.attr,
	&dev_attr_mem_used_max.attr,
	&dev_attr_max_comp_streams.attr,
	&dev_attr_comp_algorithm.attr,
	&dev_attr_algorithm_params.attr,
	&dev_attr_io_stat.attr,
	&dev_attr_mm_stat.attr,
	&dev_attr_debug_stat.attr,
	&dev_attr_idle.attr,
	&dev_attr_backing_dev.attr,
	&dev_attr_writeback.attr,
	&dev_attr_writeback_limit.attr,
	&dev_attr_writeback_limit_enable.attr,
	&dev_attr_bd_stat.attr,
	&dev_attr_recomp_algorithm.attr,
	&dev_attr_recompress.attr,
	NULL,
};
ATTRIBUTE_GROUPS(blk);

const struct attribute_group **mm_zcomp_blk_attribute_groups(void)
{
	return blk_groups;
}

static ssize_t hot_add_show(const struct class *class,
			    const struct class_attribute *attr, char *buf)
{
	int id = mm_zcomp_blk_hot_add();

	if (id < 0)
		return id;
	return sysfs_emit(buf, "%d\n", id);
}

/* As zram's: reading allocates a device, so only root may. */
static struct class_attribute class_attr_hot_add =
	__ATTR(hot_add, 0400, hot_add_show, NULL);

static ssize_t hot_remove_store(const struct class *class,
				const struct class_attribute *attr,
				const char *buf, size_t count)
{
	int ret, id;

	ret = kstrtoint(buf, 10, &id);
	if (ret)
		return ret;
	if (id < 0)
		return -EINVAL;
	ret = mm_zcomp_blk_hot_remove(id);
	return ret ? ret : count;
}
static CLASS_ATTR_WO(hot_remove);

static struct attribute *zram_control_class_attrs[] = {
	&class_attr_hot_add.attr,
	&class_attr_hot_remove.attr,
	NULL,
};
ATTRIBUTE_GROUPS(zram_control_class);

static struct class zram_control_class = {
	.name		= "zram-control",
	.class_groups	= zram_control_class_groups,
};

int mm_zcomp_blk_control_register(void)
{
	return class_register(&zram_control_class);
}
