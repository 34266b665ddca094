#ifndef REWIND_CPOSTGRESQL_SHIM_H
#define REWIND_CPOSTGRESQL_SHIM_H
#include <libpq-fe.h>
#endif
