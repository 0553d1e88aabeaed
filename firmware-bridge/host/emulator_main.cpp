// optoloop-bridge-emulator: the firmware core on a pseudo-terminal. It opens a pty, links its
// slave end at --link, prints "PTY <path>" and "READY", and then runs the same bridge_poll() /
// bridge_on_timer() loop that the board's sketch runs, until SIGTERM or SIGINT.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "emulator.h"
#include "ob_bridge.h"
#include "ob_hal.h"
#include "ob_stream.h"

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int) { g_stop = 1; }
static void on_link_drop(int) { g_link_drop = 1; }

static void usage(void) {
  fprintf(stderr,
          "usage: optoloop-bridge-emulator --link PATH [--log FILE] [--stream-out FILE] [--outputs N]\n"
          "         [--stream-channels N] [--stream-max-rate HZ] [--device-id N] [--seed N]\n"
          "         [--clock-start-us N] [--garbage-every N] [--byte-delay-us N] [--stream-drop-every N]\n");
}

static unsigned long long number(const char* flag, const char* text) {
  char* end = 0;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 0);
  if (errno || !end || *end) {
    fprintf(stderr, "optoloop-bridge-emulator: %s: expected a number, got \"%s\"\n", flag, text);
    exit(2);
  }
  return v;
}

int main(int argc, char** argv) {
  const char* link_path = 0;
  const char* log_path = 0;
  const char* stream_path = 0;
  unsigned long long seed = 1;
  g_emu.outputs = 4;
  g_emu.stream_channels = 8;
  g_emu.stream_max_rate_hz = 50000;
  g_emu.device_id = 0x0B1D6E01u;
  g_emu.stream_fd = -1;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : 0;
    if (!v) { usage(); return 2; }
    if (!strcmp(a, "--link")) link_path = v;
    else if (!strcmp(a, "--log")) log_path = v;
    else if (!strcmp(a, "--stream-out")) stream_path = v;
    else if (!strcmp(a, "--outputs")) g_emu.outputs = (uint8_t)number(a, v);
    else if (!strcmp(a, "--stream-channels")) g_emu.stream_channels = (uint8_t)number(a, v);
    else if (!strcmp(a, "--stream-max-rate")) g_emu.stream_max_rate_hz = (uint32_t)number(a, v);
    else if (!strcmp(a, "--device-id")) g_emu.device_id = (uint32_t)number(a, v);
    else if (!strcmp(a, "--seed")) seed = number(a, v);
    else if (!strcmp(a, "--clock-start-us")) g_emu.clock_start_us = number(a, v);
    else if (!strcmp(a, "--garbage-every")) g_emu.garbage_every = (uint32_t)number(a, v);
    else if (!strcmp(a, "--byte-delay-us")) g_emu.byte_delay_us = (uint32_t)number(a, v);
    else if (!strcmp(a, "--stream-drop-every")) g_emu.stream_drop_every = (uint32_t)number(a, v);
    else { usage(); return 2; }
    i++;
  }
  if (!link_path || g_emu.outputs < 1 || g_emu.outputs > 8 || g_emu.stream_channels < 1 || g_emu.stream_channels > 32) {
    usage();
    return 2;
  }
  g_emu.rng = seed * 0x9E3779B97F4A7C15ull + 1;
  // Different on every boot, as the firmware's is: seed, pid and the boot's nanosecond time mixed
  // (splitmix64). XOR of pid and whole seconds alone repeated now and then across a quick restart
  // (pid + 1 in the same second as the clock's low bit flipped), which a reconnect test caught.
  timespec boot_time;
  clock_gettime(CLOCK_REALTIME, &boot_time);
  uint64_t mix = (uint64_t)seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)getpid() << 32) ^ ((uint64_t)boot_time.tv_sec * 1000000000ull + (uint64_t)boot_time.tv_nsec);
  mix = (mix ^ (mix >> 30)) * 0xBF58476D1CE4E5B9ull;
  mix = (mix ^ (mix >> 27)) * 0x94D049BB133111EBull;
  g_emu.boot_nonce = (uint32_t)(mix ^ (mix >> 31));

  int master = -1, slave = -1;
  char slave_name[128];
  if (openpty(&master, &slave, slave_name, 0, 0) != 0) {
    perror("optoloop-bridge-emulator: openpty");
    return 1;
  }
  termios tio;
  tcgetattr(slave, &tio);
  cfmakeraw(&tio);
  tcsetattr(slave, TCSANOW, &tio);
  // Keep our slave fd open: the pty then survives the driver closing and reopening it, as a USB
  // CDC device survives a host program restarting.
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  g_emu.serial_fd = master;

  if (log_path) {
    g_emu.event_log = fopen(log_path, "w");
    if (!g_emu.event_log) { perror("optoloop-bridge-emulator: --log"); return 1; }
  }
  if (stream_path) {
    g_emu.stream_fd = open(stream_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (g_emu.stream_fd < 0) { perror("optoloop-bridge-emulator: --stream-out"); return 1; }
  }
  // Replace the link atomically so a driver reconnecting by path never sees it missing.
  char tmp_link[4200];
  snprintf(tmp_link, sizeof(tmp_link), "%s.%d.tmp", link_path, (int)getpid());
  unlink(tmp_link);
  if (symlink(slave_name, tmp_link) != 0 || rename(tmp_link, link_path) != 0) {
    perror("optoloop-bridge-emulator: --link");
    return 1;
  }

  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGUSR1, on_link_drop);
  host_clock_init();
  bridge_init();
  printf("PTY %s\nREADY\n", slave_name);
  fflush(stdout);

  while (!g_stop) {
    // Sleep until the next edge is due, a byte arrives, or (when streaming) the next millisecond.
    long timeout_ns = 100000000L;
    if (host_timer_armed()) {
      uint64_t now = hal_now_us();
      uint64_t d = host_timer_deadline();
      long wait_ns = d > now ? (long)((d - now) * 1000ull) : 0;
      if (wait_ns < timeout_ns) timeout_ns = wait_ns;
    }
    if (ob_stream_active() && timeout_ns > 1000000L) timeout_ns = 1000000L;
    pollfd p = {master, POLLIN, 0};
    timespec ts = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};
    ppoll(&p, 1, &ts, 0);
    if (host_timer_armed() && hal_now_us() >= host_timer_deadline()) {
      host_timer_fired();
      bridge_on_timer();
    }
    bridge_poll();
  }
  if (g_emu.event_log) fclose(g_emu.event_log);
  unlink(link_path);
  close(slave);
  close(master);
  return 0;
}
