/*
 * libarchive, loaded on first use.
 *
 * Linking libarchive pulls libxml2, ICU and libstdc++ into every berth process: about 10 ms
 * of dynamic loading before `berth run` does anything. Only image import and export need
 * it, so images/ loads it with dlopen() when they start (archive_api_load) and calls it
 * through this table; the code keeps libarchive's own names and types.
 */
#pragma once

#include <archive.h>
#include <archive_entry.h>

#define BERTH_ARCHIVE_FUNCS(X) \
    X(archive_entry_atime) \
    X(archive_entry_atime_is_set) \
    X(archive_entry_atime_nsec) \
    X(archive_entry_filetype) \
    X(archive_entry_free) \
    X(archive_entry_gid) \
    X(archive_entry_hardlink) \
    X(archive_entry_mode) \
    X(archive_entry_mtime) \
    X(archive_entry_mtime_nsec) \
    X(archive_entry_new) \
    X(archive_entry_pathname) \
    X(archive_entry_rdev) \
    X(archive_entry_set_filetype) \
    X(archive_entry_set_pathname) \
    X(archive_entry_set_perm) \
    X(archive_entry_set_size) \
    X(archive_entry_size) \
    X(archive_entry_symlink) \
    X(archive_entry_uid) \
    X(archive_entry_xattr_next) \
    X(archive_entry_xattr_reset) \
    X(archive_error_string) \
    X(archive_filter_count) \
    X(archive_read_data) \
    X(archive_read_data_block) \
    X(archive_read_free) \
    X(archive_read_new) \
    X(archive_read_next_header) \
    X(archive_read_open) \
    X(archive_read_open_filename) \
    X(archive_read_support_filter_all) \
    X(archive_read_support_format_raw) \
    X(archive_read_support_format_tar) \
    X(archive_set_error) \
    X(archive_write_close) \
    X(archive_write_data) \
    X(archive_write_free) \
    X(archive_write_header) \
    X(archive_write_new) \
    X(archive_write_open_fd) \
    X(archive_write_set_format_pax_restricted) \

struct archive_api {
#define BERTH_ARCHIVE_PTR(f) __typeof__(f) *f;
    BERTH_ARCHIVE_FUNCS(BERTH_ARCHIVE_PTR)
#undef BERTH_ARCHIVE_PTR
};

extern struct archive_api archive_api;

/* Load libarchive once; -errno with a message naming the library when it is missing. Every
 * images/ entry point that reads or writes archives calls it first. */
int archive_api_load(void);

#ifndef BERTH_ARCHIVE_API_IMPL
#define archive_entry_atime (*archive_api.archive_entry_atime)
#define archive_entry_atime_is_set (*archive_api.archive_entry_atime_is_set)
#define archive_entry_atime_nsec (*archive_api.archive_entry_atime_nsec)
#define archive_entry_filetype (*archive_api.archive_entry_filetype)
#define archive_entry_free (*archive_api.archive_entry_free)
#define archive_entry_gid (*archive_api.archive_entry_gid)
#define archive_entry_hardlink (*archive_api.archive_entry_hardlink)
#define archive_entry_mode (*archive_api.archive_entry_mode)
#define archive_entry_mtime (*archive_api.archive_entry_mtime)
#define archive_entry_mtime_nsec (*archive_api.archive_entry_mtime_nsec)
#define archive_entry_new (*archive_api.archive_entry_new)
#define archive_entry_pathname (*archive_api.archive_entry_pathname)
#define archive_entry_rdev (*archive_api.archive_entry_rdev)
#define archive_entry_set_filetype (*archive_api.archive_entry_set_filetype)
#define archive_entry_set_pathname (*archive_api.archive_entry_set_pathname)
#define archive_entry_set_perm (*archive_api.archive_entry_set_perm)
#define archive_entry_set_size (*archive_api.archive_entry_set_size)
#define archive_entry_size (*archive_api.archive_entry_size)
#define archive_entry_symlink (*archive_api.archive_entry_symlink)
#define archive_entry_uid (*archive_api.archive_entry_uid)
#define archive_entry_xattr_next (*archive_api.archive_entry_xattr_next)
#define archive_entry_xattr_reset (*archive_api.archive_entry_xattr_reset)
#define archive_error_string (*archive_api.archive_error_string)
#define archive_filter_count (*archive_api.archive_filter_count)
#define archive_read_data (*archive_api.archive_read_data)
#define archive_read_data_block (*archive_api.archive_read_data_block)
#define archive_read_free (*archive_api.archive_read_free)
#define archive_read_new (*archive_api.archive_read_new)
#define archive_read_next_header (*archive_api.archive_read_next_header)
#define archive_read_open (*archive_api.archive_read_open)
#define archive_read_open_filename (*archive_api.archive_read_open_filename)
#define archive_read_support_filter_all (*archive_api.archive_read_support_filter_all)
#define archive_read_support_format_raw (*archive_api.archive_read_support_format_raw)
#define archive_read_support_format_tar (*archive_api.archive_read_support_format_tar)
#define archive_set_error (*archive_api.archive_set_error)
#define archive_write_close (*archive_api.archive_write_close)
#define archive_write_data (*archive_api.archive_write_data)
#define archive_write_free (*archive_api.archive_write_free)
#define archive_write_header (*archive_api.archive_write_header)
#define archive_write_new (*archive_api.archive_write_new)
#define archive_write_open_fd (*archive_api.archive_write_open_fd)
#define archive_write_set_format_pax_restricted (*archive_api.archive_write_set_format_pax_restricted)
#endif
