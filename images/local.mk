# images/: image store, layers, bundle generation (issue 5).
libberth_a_SOURCES += \
	images/images.h \
	images/images.c
