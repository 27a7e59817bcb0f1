/* The contract between the C core and Python.
 *
 * This file is fed verbatim to cffi's cdef (native/build.py), so it must stay cdef-clean:
 * no #include, no #if, no macros beyond integer constants. C sources include <stdint.h> and
 * <stddef.h> before it. Rules: C never allocates and never sees a Python object; every function
 * returns an int status (0 = ok, negative = misuse), results go to caller-owned buffers.
 */

#define BRIDGE_OK 0
#define BRIDGE_E_ARG -1

/* Map n bytes of src through a 256-entry byte table into dst (src and dst may be the same).
 * The single-byte building block of code-page conversion. */
int bridge_translate(const uint8_t *src, size_t n, const uint8_t *table, uint8_t *dst);
