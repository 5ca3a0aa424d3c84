# netns/: rtnetlink through libmnl (issue 4).
libberth_a_SOURCES += \
	netns/net.h \
	netns/net.c
