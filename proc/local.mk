# proc/ - process plumbing: the logger's writer and options from files, the
# environment and argv (libchatproc.a, under db/), and the programs'
# start-up sequence (START_SOURCES, linked into each program, over db/).
noinst_LIBRARIES += proc/libchatproc.a
# It sees core/ and itself, not db/, which it lies under.
proc_libchatproc_a_CPPFLAGS = -I$(top_srcdir)/core -I$(top_srcdir)/proc -I$(top_builddir)
proc_libchatproc_a_SOURCES = \
	proc/clock.c proc/clock.h \
	proc/log.c proc/log.h \
	proc/optload.c proc/optload.h
# What a program using the logger or option loading links (core/ under it).
CHATPROC_LIBS = proc/libchatproc.a core/libchatcore.a

START_SOURCES = proc/start.c proc/start.h
