/* Compiles only when the module it is built for may see PROBE_HEADER
 * (tests/CMakeLists.txt builds it once per allowed and forbidden edge). */
#include PROBE_HEADER

int layering_probe(void);

int layering_probe(void)
{
    return 0;
}
