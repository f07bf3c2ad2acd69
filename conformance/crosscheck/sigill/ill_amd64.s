// UD2, an instruction that is defined to be illegal: SIGILL.

#include "textflag.h"

TEXT ·ill(SB), NOSPLIT, $0-0
	BYTE $0x0F
	BYTE $0x0B
	RET
