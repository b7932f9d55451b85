// SPDX-License-Identifier: GPL-2.0-only
// Tests that probe the standalone harness's test server: each test must
// start from the state a forked C child starts from, and a crash, an exit or
// a timeout must end only its own test. The expectations are in
// `include/kselftest_harness_server_test.ts`.
import {
  ASSERT_EQ,
  ASSERT_GE,
  FIXTURE,
  TEST,
  TEST_F,
  TEST_F_TIMEOUT,
  TEST_HARNESS_MAIN,
} from "../../kselftest_harness.ts";
import { exit } from "../../libc/exit.ts";
import { O_RDWR } from "../../linux/fcntl.ts";
import { open } from "../../libc/syscall.ts";
import { printf } from "../../libc/stdio.ts";

// Module state: each test must find it as the module's top level left it.
let counter = 0;

TEST("counts_from_zero", () => {
  counter++;
  ASSERT_EQ(1, counter);
});

TEST("counts_from_zero_again", () => {
  counter++;
  ASSERT_EQ(1, counter);
});

// Leaves /dev/kvm open: the process's exit closes it in C.
TEST("leaks_a_kvm_fd", () => {
  const fd = open("/dev/kvm", O_RDWR);
  ASSERT_GE(fd, 0);
  printf("fd %d\n", fd);
});

TEST("gets_the_same_fd_number", () => {
  const fd = open("/dev/kvm", O_RDWR);
  ASSERT_GE(fd, 0);
  printf("fd %d\n", fd);
});

// An interval the test never clears: a child's would die with it.
TEST("leaves_an_interval", () => {
  setInterval(() => printf("interval fired after its test\n"), 1);
});

TEST("sees_no_earlier_timer", async () => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  printf("waited\n");
});

// setenv() and chdir() in a child change only the child.
TEST("changes_env_and_cwd", () => {
  Deno.env.set("KSFT_SERVER_PROBE", "1");
  Deno.chdir("/");
});

TEST("sees_the_parents_env_and_cwd", () => {
  ASSERT_EQ(undefined, Deno.env.get("KSFT_SERVER_PROBE"));
  ASSERT_EQ(true, Deno.cwd() !== "/");
});

TEST("exit_ends_only_the_test", () => {
  counter++;
  exit(0);
});

TEST("dies", () => {
  Deno.exit(1);
});

TEST("runs_after_a_death", () => {
  counter++;
  ASSERT_EQ(1, counter);
});

const hang = FIXTURE("hang");
TEST_F_TIMEOUT(hang, "spins_past_its_timeout", 1, () => {
  for (;;) counter++;
});

TEST_F(hang, "runs_after_a_timeout", () => {
  counter++;
  ASSERT_EQ(1, counter);
});

await TEST_HARNESS_MAIN(import.meta);
