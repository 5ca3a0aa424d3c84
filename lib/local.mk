libberth_a_SOURCES += \
	lib/macros.h \
	lib/err.c lib/err.h \
	lib/util.c lib/util.h \
	lib/arena.c lib/arena.h \
	lib/fs.c lib/fs.h \
	lib/json.c lib/jsonw.c lib/json.h \
	lib/log.c lib/log.h \
	lib/sock.c lib/sock.h \
	lib/hash.c lib/hash.h
