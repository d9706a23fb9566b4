/*
 * defaults.h - the shipped default documents (the JSON files in data/), compiled into
 * the program by cmake/embed.cmake so a data directory can be created with
 * nothing but the binary.
 */
#ifndef STEWARD_DEFAULTS_H
#define STEWARD_DEFAULTS_H

#include <stddef.h>

extern const unsigned char default_inventory[];
extern const size_t default_inventory_len;
extern const unsigned char default_series[];
extern const size_t default_series_len;
extern const unsigned char default_policy[];
extern const size_t default_policy_len;
extern const unsigned char common_passwords[];
extern const size_t common_passwords_len;

#endif
