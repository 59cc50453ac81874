/*
 * winnow.h - everything in libwinnow.  See the individual headers: each one
 * documents its functions, who owns what, and what they return.
 */
#ifndef WINNOW_WINNOW_H
#define WINNOW_WINNOW_H

#include "winnow/status.h"
#include "winnow/buf.h"
#include "winnow/json.h"
#include "winnow/record.h"
#include "winnow/stage.h"
#include "winnow/pipeline.h"
#include "winnow/io.h"
#include "winnow/dataset.h"
#include "winnow/dedup.h"
#include "winnow/stats.h"

/* The library version, "MAJOR.MINOR.PATCH". */
const char *wn_version(void);

#endif
