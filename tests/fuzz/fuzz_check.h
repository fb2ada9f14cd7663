// The fuzz targets' assertion: names the broken property in the crash report, then aborts
// (libFuzzer keeps the input).
#pragma once
#include <cstdio>
#include <cstdlib>

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      std::fprintf(stderr, "CHECK failed at line %d: %s\n", __LINE__, #cond); \
      std::abort();                                                           \
    }                                                                         \
  } while (0)
