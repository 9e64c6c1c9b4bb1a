/* The option table: one row per command-line option, holding every fact
 * about it (names, value kind, the config field it sets, range, default,
 * environment variable, help line). The getopt array, the THUMBD_*
 * variables, --help, config_defaults and the range checks with their error
 * messages are all made from it (config.c); tests/test_manpage.sh checks
 * the man page's OPTIONS section against the --help it renders. */
#ifndef THUMBD_OPTIONS_H
#define THUMBD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "thumbd/config.h"

typedef enum options_kind {
    OPTIONS_FLAG,     /* bool field, no value; --no-NAME (NAME without "no-") clears it */
    OPTIONS_INT,      /* int field, lo..hi */
    OPTIONS_COUNT,    /* uint64_t field, config_parse_count in powers of base, >= lo */
    OPTIONS_SECONDS,  /* double field, config_parse_seconds, <= hi */
    OPTIONS_CHOICE,   /* int-sized enum field, one of choices */
    OPTIONS_STRING,   /* const char * field: the value itself */
    OPTIONS_CUSTOM,   /* set parses the value and stores it */
    OPTIONS_LIST,     /* repeatable: set adds one item of a list; the value is items
                       * separated by commas or spaces; the first value from each source
                       * (default, environment, command line) calls clear first, so that
                       * the command line replaces THUMBD_<OPTION> */
    OPTIONS_ACTION,   /* --help, --version: no field, no variable */
} options_kind;

/* A name a CHOICE option accepts; one with the value of an earlier one is
 * an alias, accepted but not listed. */
typedef struct options_choice {
    const char *name;
    int value;
} options_choice;

typedef struct options_entry {
    const char *name;        /* long name, without "--" */
    char short_name;         /* 0: none */
    options_kind kind;
    size_t field;            /* offsetof(thumbd_config, ...) */
    const char *arg;         /* the value's name in --help; NULL: CHOICE's names a|b */
    const char *def;         /* default in the option's own syntax, applied by
                              * options_defaults; NULL: false, zero or computed */
    double lo, hi;           /* INT: range; COUNT: lo; SECONDS: hi */
    unsigned base;           /* COUNT: 1000 or 1024 for K, M, G */
    const options_choice *choices;  /* CHOICE: ends with a NULL name */
    bool (*set)(thumbd_config *cfg, const char *arg);  /* CUSTOM, LIST */
    void (*clear)(thumbd_config *cfg);                 /* LIST: empties the list */
    const char *expect;      /* "--NAME: expected EXPECT, got '...'"; NULL: made
                              * from the range (INT) or the choices */
    const char *help;        /* --help's text, wrapped when printed */
} options_entry;

/* The table, in --help's order; at most OPTIONS_MAX rows. */
enum { OPTIONS_MAX = 64 };
extern const options_entry options_table[];
extern const size_t options_count;

/* THUMBD_ variables thumbd reads that are not options. */
extern const char *const options_other_env[];

/* Sets e's field from arg (not for FLAG or ACTION). False with err, which
 * names the option and quotes arg, when arg is not a valid value. */
bool options_apply(const options_entry *e, thumbd_config *cfg, const char *arg,
                   char err[TD_ERRLEN]);

/* LIST e: empties the list (the next options_apply starts it afresh). */
void options_clear(const options_entry *e, thumbd_config *cfg);

/* Sets FLAG e's field to on. */
void options_set_flag(const options_entry *e, thumbd_config *cfg, bool on);

/* The --no- form of FLAG e into buf: "no-force" for force, "memo" for
 * no-memo. */
void options_negation(const options_entry *e, char *buf, size_t len);

/* The environment variable of e into buf: THUMBD_MAX_PIXELS for
 * max-pixels; false (buf "") for ACTION. */
bool options_env_name(const options_entry *e, char *buf, size_t len);

/* Applies every row's default to cfg. */
void options_defaults(thumbd_config *cfg);

/* Writes the option lines of --help into buf like snprintf: returns the
 * length the whole text needs. */
size_t options_help(char *buf, size_t len);

#endif
