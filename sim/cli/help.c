/*
 * `hopsim --help` and `hopsim CMD --help`: the overview, and one text per
 * command (flash and view print their own).
 */
#include "help.h"

#include <string.h>

static const char run_opts_text[] =
    "  --set KEY=VALUE    set a scenario parameter (param(\"KEY\", ...)) or a\n"
    "                     declared field (machine.cpus=4, cost.hypercall=2000);\n"
    "                     numbers may carry units: 5ms, 2us, 4KiB\n"
    "  --seed N           random seed (default: the scenario's, else 1)\n"
    "  --trace-json FILE  write a Chrome/Perfetto Trace Event JSON file\n"
    "  --trace-csv FILE   write one CSV row per span\n"
    "  --stats FILE.json  write the resolved scenario, every cost parameter and\n"
    "                     every result (per hop, span kind, domain, wire) as JSON\n"
    "  --pcap FILE        capture every Ethernet frame on the wire (nanosecond\n"
    "                     pcap, simulated time; tshark/Wireshark read it)\n"
    "  --out DIR          the run's output directory (default hopsim-out/): every\n"
    "                     file the scenario itself names (output{}, disk images)\n"
    "                     is written there; paths given on the command line are\n"
    "                     used as given\n"
    "  --rw-disk          open every disk image read-write (default: only the\n"
    "                     disks the scenario creates; the others read-only)\n"
    "  --quiet            no guest console output, no progress line (a crashing\n"
    "                     domain's last console lines are still shown)\n";

static const struct {
    const char *cmd, *text;
} cmds[] = {
    {"run", "usage: hopsim run SCENARIO [options]\n"
            "\n"
            "Runs a scenario script (Lua) on the simulated machine, prints each domain's\n"
            "end, the per-hop summary table and the scenario's expectations (expect{})\n"
            "with their measured values.\n"
            "\n"
            "options:\n"
            "%s"
            "  --progress         show the progress line (virtual time, events, requests,\n"
            "                     percentage and ETA when the run's end is known) even\n"
            "                     when stderr is not a terminal or under --quiet\n"
            "  --view             watch the run in a window (SDL2; see hopsim view --help)\n"
            "  --view-speed TIME  virtual time per wall second in the view (default 50us)\n"
            "  --view-close       close the view when the run ends\n"
            "\n"
            "exit status: 0 ok; 1 the run failed (a domain crashed, a guest check or an\n"
            "expectation failed, deadlock, time limit); 2 usage or scenario error (the\n"
            "message names file:line: key)\n"},
    {"compare", "usage: hopsim compare SCENARIO --arch A,B,... [--csv FILE] [--trace-dir DIR]\n"
                "                      [--svg FILE] [--png FILE] [run options]\n"
                "\n"
                "Runs the scenario once per architecture (--set arch=A; the block and\n"
                "network scenarios know native, xen-dom0, xen-idd, uefi-rt) and prints\n"
                "per-hop p50/p99, latency, IOPS and the overhead ratio to the first one.\n"
                "Every architecture is checked before the first run.\n"
                "\n"
                "  --csv FILE         the table as CSV (arch,metric,hop,count,mean_ps,p50_ps,\n"
                "                     p99_ps,max_ps,rate_per_s,mbit_per_s)\n"
                "  --trace-dir DIR    one JSON + CSV trace per architecture (and a pcap for a\n"
                "                     network scenario)\n"
                "  --svg FILE, --png FILE  per-hop mean times stacked, a bar per architecture\n"
                "\n"
                "run options:\n"
                "%s"},
    {"sweep", "usage: hopsim sweep SCENARIO [--arch A,B,...] [--set KEY=VALUES ...]\n"
              "                    [-j N | --slurm] [--out DIR] [--csv FILE]\n"
              "                    [--svg FILE] [--png FILE] [--metric NAME] [--seed N]\n"
              "\n"
              "Runs the scenario at every point of the cartesian product of the --set\n"
              "value lists and --arch, each point a `hopsim run` in OUT/point-N/ (its\n"
              "console in log.txt, its --stats in stats.json), and gathers one tidy CSV\n"
              "(a row per point and metric: point,arch,KEYS...,metric,value,unit), a\n"
              "summary table and a chart.\n"
              "\n"
              "  --set KEY=V1,V2,...    values; KEY=LO..HI, LO..HI:+STEP, LO..HI:*FACTOR ranges\n"
              "  --set-one KEY=VALUE    one value that holds commas (sizes=64,512,1514)\n"
              "  --arch A,B,...         architectures (each a --set arch=A)\n"
              "  -j N                   points run at once on this machine (default: CPUs)\n"
              "  --slurm                one Slurm array task per point (sbatch --wait), the\n"
              "                         results gathered when the array has finished\n"
              "  --out DIR              default out/sweep-SCENARIO\n"
              "  --csv FILE             default OUT/sweep.csv\n"
              "  --svg FILE, --png FILE METRIC against the first swept key, a line per\n"
              "                         architecture (and other swept values)\n"
              "  --metric NAME          the charted metric (default request.mean); the\n"
              "                         names are the ones expect{} uses\n"
              "\n"
              "exit status: 0 every point ran and met its expectations, 1 one did not,\n"
              "2 usage error\n"},
    {"follow", "usage: hopsim follow TRACE.csv REQUEST [--svg FILE] [--png FILE]\n"
               "\n"
               "Follows one request through a run's CSV trace (--trace-csv): prints each\n"
               "hop and sub-span it went through, in time order, with the place (CPU,\n"
               "domain, device) and duration, and draws them as a timeline, a lane per\n"
               "place. REQUEST is a request id from the trace, or 'first' / 'slowest'.\n"},
    {"disk-check", "usage: hopsim disk-check IMAGE [--partitions N] [--block-size 512|4096]\n"
                   "\n"
                   "Verifies every sector of a disk image written by the block test program\n"
                   "(a regular file of whole sectors; exit 1 if a sector is inconsistent).\n"
                   "--partitions N: the disk was shared by guests that each had their own\n"
                   "equal extent addressed from block 0 (hvm-emul and hosted with domus=N,\n"
                   "l4-vmm: 8); each sector is checked at its place within its extent.\n"
                   "--block-size: the disk's block size (a scenario disk's block_size), which\n"
                   "the extents are whole blocks of.\n"},
    {"size-report", "usage: hopsim size-report [GUEST_DIR]\n"
                    "\n"
                    "The code bytes that run with privilege in each architecture.\n"},
    {"attack-matrix", "usage: hopsim attack-matrix [FLASH_IMAGE [BACKEND_ELF]]\n"
                      "\n"
                      "Security scenarios, architecture x attack -> measured verdict.\n"},
};

static void overview(FILE *out)
{
    fprintf(out, "usage: hopsim COMMAND [options]   (hopsim COMMAND --help for each)\n"
                 "\n"
                 "  run SCENARIO            run a scenario, print its hops and expectations\n"
                 "  compare SCENARIO        the same scenario under several architectures\n"
                 "  sweep SCENARIO          a parameter study: locally (-j) or on Slurm\n"
                 "  follow TRACE.csv REQ    one request's way through the places it visits\n"
                 "  view TRACE.json         the live view (SDL2)\n"
                 "  disk-check IMAGE        verify a disk image the block test program wrote\n"
                 "  size-report             privileged code bytes per architecture\n"
                 "  attack-matrix           security scenarios -> verdicts\n"
                 "  flash build|inspect     SPI flash images\n"
                 "\n"
                 "exit status: 0 ok, 1 run failed, 2 usage or scenario error\n"
                 "\n"
                 "environment: HOPSIM_IMAGE_PATH, HOPSIM_PROFILE_PATH (colon-separated\n"
                 "directories searched for guest images and cost profiles)\n");
}

int help_print(const char *cmd, FILE *out)
{
    for (size_t i = 0; cmd && i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].cmd)) {
            fprintf(out, cmds[i].text, run_opts_text);
            return 0;
        }
    overview(out);
    return cmd ? -1 : 0;
}
