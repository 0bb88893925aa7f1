/* placeholder: replaced by the codec */
#include "config.h"
#include "protocol/protocol.h"
