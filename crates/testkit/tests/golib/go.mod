module golib
