# netns/: container networking (issue 4): rtnetlink through libmnl, nftables through libnftnl
# over libmnl, tc through rtnetlink. libnftnl is needed by this module only.
AM_CFLAGS += $(LIBNFTNL_CFLAGS)
libberth_a_SOURCES += \
	netns/net.h \
	netns/net.c \
	netns/networks.c \
	netns/nl.h \
	netns/nl.c \
	netns/rtnl.h \
	netns/rtnl.c \
	netns/tc.h \
	netns/tc.c \
	netns/nft.h \
	netns/nft.c \
	netns/addr.h \
	netns/addr.c \
	netns/options.h \
	netns/options.c \
	netns/store.h \
	netns/store.c \
	netns/bridge.h \
	netns/bridge.c
