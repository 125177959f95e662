/* Compiles only for modules allowed to see the network layer: the UI
 * reaches the core through the message queue and never sees net/ headers
 * (tests/CMakeLists.txt builds this once as net, once as ui). */
#include "net/wire.h"

int layering_probe(void);

int layering_probe(void)
{
    return 0;
}
