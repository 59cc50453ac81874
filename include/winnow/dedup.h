/*
 * dedup.h - the saved indexes of `winnow dedup --index FILE`.
 *
 * The dedup stage itself is used through the stage registry (winnow dedup,
 * `then dedup`, pipeline files); these functions work on the index files it
 * reads and writes, for the `winnow dedup-index` command.  Three kinds exist,
 * told apart by their first 8 bytes (docs/winnow-dedup-index.md has the
 * formats):
 *   - "WNDEDUP\0": a digest set (exact, --lines, --paragraphs) or a Bloom
 *     filter (--bloom);
 *   - "WNMINHSH": a MinHash LSH index (--near).
 */
#ifndef WINNOW_DEDUP_H
#define WINNOW_DEDUP_H

#include <stddef.h>

#include "winnow/buf.h"
#include "winnow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Describe the index at path: one "name: value" line each for its kind, the
 * parameters it was made with, its entries and its size, appended to out.
 * The whole file is read and its checksum checked.  WN_EDATA (naming the
 * file) for anything that is not a valid index, WN_EIO when it cannot be
 * read, WN_ENOMEM.
 */
int wn_dedup_index_info(const char *path, struct wn_buf *out, struct wn_error *err);

/*
 * Merge the indexes inputs[0..n) (n >= 1) into one written to output
 * (atomically: a temporary file renamed into place; output may be one of
 * the inputs).  They must be of one kind and made with the same parameters
 * (WN_EUSAGE naming the file and the first difference).  Digest sets: the
 * union, in the same bytes as one index made from all the records (an id
 * kept by --mark comes from the first input that has the digest).  Bloom
 * filters: the union of the bits.  MinHash: the entries of each input in
 * order, leaving out those that are near-duplicates of an entry before them.
 */
int wn_dedup_index_merge(const char *const *inputs, size_t n, const char *output,
                         struct wn_error *err);

#ifdef __cplusplus
}
#endif
#endif
