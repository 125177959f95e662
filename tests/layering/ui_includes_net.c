/* Must not compile: the UI reaches the core only through the message queue
 * and never sees the network layer's headers. */
#include "net/wire.h"
