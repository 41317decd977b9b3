"""Writes the event-log corpus of tests/condor (the .log files beside this script are the test data).

Usage: python tests/data/eventlogs/make_corpus.py tests/data/eventlogs

Each helper prints an event exactly as HTCondor's ``ULogEvent::formatHeader``
and the event class's ``formatBody`` do (src/condor_utils/condor_event.cpp):
``%03d (%03d.%03d.%03d) `` headers, ISO or legacy ``MM/DD`` stamps, bodies with
their tab-indented detail lines, rusage lines, byte counts and the
``Partitionable Resources`` usage table, and ``...`` after every event.
``tests/condor/test_state.py`` checks that ``htcondor2.JobEventLog`` reads
every valid file event for event as workbench's reader does.
"""
from __future__ import annotations
import sys
from pathlib import Path

OUT = Path(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)

SCHEDD = "<10.0.4.21:9618?addrs=10.0.4.21-9618&alias=submit01.example.edu&noUDP&sock=schedd_2417_7c1e>"

def host(n: int) -> str:
    return f"<10.0.7.{n}:9618?addrs=10.0.7.{n}-9618&alias=e{n:03d}.example.edu&noUDP&sock=startd_17{n:02d}_2b0e>"

def starter(n: int, slot: str) -> str:
    return f"<10.0.7.{n}:9618?addrs=10.0.7.{n}-9618&alias=e{n:03d}.example.edu&noUDP&sock={slot}_2201_3f1c_88{n:02d}>"

def head(code, c, p, stamp, sub=0):
    return f"{code:03d} ({c:03d}.{p:03d}.{sub:03d}) {stamp} "

SEP = "...\n"

def submit(c, p, stamp, notes=None, user=None):
    s = head(0, c, p, stamp) + f"Job submitted from host: {SCHEDD}\n"
    if notes is not None:
        s += f"    {notes}\n"
    if user is not None:
        s += f"    {user}\n"
    return s + SEP

def execute(c, p, stamp, n, slot="slot1_4", props=True):
    s = head(1, c, p, stamp) + f"Job executing on host: {host(n)}\n"
    if props:
        s += f"\tSlotName: {slot}@e{n:03d}.example.edu\n"
        s += f'\tCondorScratchDir = "/var/lib/condor/execute/dir_{28000 + 17 * n + p}"\n'
        s += "\tCpus = 1\n\tDisk = 1048576\n\tMemory = 1024\n"
    return s + SEP

def image(c, p, stamp, size=182344, mem=143, rss=146284):
    return head(6, c, p, stamp) + f"Image size of job updated: {size}\n\t{mem}  -  MemoryUsage of job (MB)\n\t{rss}  -  ResidentSetSize of job (KB)\n" + SEP

def ft(c, p, stamp, kind, to=None, queued=None):
    text = {
        1: "Entered queue to transfer input files",
        2: "Started transferring input files",
        3: "Finished transferring input files",
        4: "Entered queue to transfer output files",
        5: "Started transferring output files",
        6: "Finished transferring output files",
    }[kind]
    s = head(40, c, p, stamp) + text + "\n"
    if queued is not None:
        s += f"\tSeconds spent in queue: {queued}\n"
    if to is not None:
        s += f"\tTransferring to host: {to}\n"
    return s + SEP

def rusage(secs, tabs="\t\t"):
    d, r = divmod(secs, 86400); h, r = divmod(r, 3600); m, s_ = divmod(r, 60)
    return f"{tabs}Usr {d} {h:02d}:{m:02d}:{s_:02d}, Sys 0 00:00:0{min(secs % 7, 9)}"

def is_bare_int(v):
    return v != "" and v.isdigit()

def usage(rows):
    """rows: (resource, use, request, allocated) strings; '' for none. As formatUsageAd prints them."""
    use_hfp = any("." in r[1] for r in rows)
    req_hfp = any("." in r[2] for r in rows)
    alloc_hfp = any("." in r[3] for r in rows)
    fixed = []
    cch_res, cch_use, cch_req, cch_alloc = 12, 8, 8, 0
    for res, use, req, alloc in rows:
        if use_hfp and is_bare_int(use): use += "   "
        if req_hfp and is_bare_int(req): req += "   "
        if alloc_hfp and is_bare_int(alloc): alloc += "   "
        cch_res = max(cch_res, len(res)); cch_use = max(cch_use, len(use)); cch_req = max(cch_req, len(req)); cch_alloc = max(cch_alloc, len(alloc))
        fixed.append((res, use, req, alloc))
    wa = max(cch_alloc, 9)
    out = f"\tPartitionable Resources : {'Usage':>{cch_use}} {'Request':>{cch_req}} {('Allocated' if cch_alloc else ''):>{wa}} \n"
    labels = {"Memory": "Memory (MB)", "Disk": "Disk (KB)", "Gpus": "Gpus (Average)", "TimeExecute": "TimeExecute (s)", "TimeSlotBusy": "TimeSlotBusy (s)"}
    for res, use, req, alloc in sorted(fixed, key=lambda r: r[0].lower()):
        out += f"\t   {labels.get(res, res):<{cch_res + 8}} : {use:>{cch_use}} {req:>{cch_req}} {alloc:>{wa}} \n"
    return out

def usage_std(cpu="0.98", disk="312", mem="143", req_mem="256", texec=None):
    rows = [("Cpus", cpu, "1", "1"), ("Disk", disk, "1024", "1048576"), ("Memory", mem, req_mem, "1024")]
    if texec is not None:
        rows += [("TimeExecute", str(texec), "", ""), ("TimeSlotBusy", str(texec + 2), "", "")]
    return usage(rows)

def terminated(c, p, stamp, rv=0, signal=None, secs=1651, sent=18213, recv=4211, table=True, texec=None, core=None):
    s = head(5, c, p, stamp) + "Job terminated.\n"
    if signal is None:
        s += f"\t(1) Normal termination (return value {rv})\n"
    else:
        s += f"\t(0) Abnormal termination (signal {signal})\n"
        s += f"\t(1) Corefile in: {core}\n" if core else "\t(0) No core file\n"
    s += f"{rusage(secs)}  -  Run Remote Usage\n{rusage(0)}  -  Run Local Usage\n{rusage(secs)}  -  Total Remote Usage\n{rusage(0)}  -  Total Local Usage\n"
    s += f"\t{sent}  -  Run Bytes Sent By Job\n\t{recv}  -  Run Bytes Received By Job\n\t{sent}  -  Total Bytes Sent By Job\n\t{recv}  -  Total Bytes Received By Job\n"
    if table:
        s += usage_std(texec=texec)
    return s + SEP

def evicted(c, p, stamp, checkpointed=False, code=None, reason=None, secs=728, sent=5120, recv=4211, table=True, requeued_rv=None):
    s = head(4, c, p, stamp) + ("Job was evicted." if code is None else f"Job was evicted. Code {code[0]} Subcode {code[1]}") + "\n"
    if requeued_rv is not None:
        s += "\t(0) Job terminated and was requeued\n"
    elif checkpointed:
        s += "\t(1) Job was checkpointed.\n"
    else:
        s += "\t(0) CPU times\n"
    s += f"{rusage(secs)}  -  Run Remote Usage\n{rusage(0)}  -  Run Local Usage\n"
    s += f"\t{sent}  -  Run Bytes Sent By Job\n\t{recv}  -  Run Bytes Received By Job\n"
    if requeued_rv is not None:
        s += f"\t(1) Normal termination (return value {requeued_rv})\n"
        if reason:
            s += f"\t{reason}\n"
    elif reason:
        s += f"\tReason: {reason}\n"
    if table:
        s += usage_std(cpu="0.99", disk="280", mem="131")
    return s + SEP

def checkpointed(c, p, stamp, secs=600, sent=20480):
    return head(3, c, p, stamp) + f"Job was checkpointed.\n{rusage(secs, chr(9))}  -  Run Remote Usage\n{rusage(0, chr(9))}  -  Run Local Usage\n\t{sent}  -  Run Bytes Sent By Job For Checkpoint\n" + SEP

def held(c, p, stamp, reason, code, sub):
    return head(12, c, p, stamp) + "Job was held.\n" + (f"\t{reason}\n" if reason else "\tReason unspecified\n") + f"\tCode {code} Subcode {sub}\n" + SEP

def released(c, p, stamp, reason="via condor_release (by user alice)"):
    return head(13, c, p, stamp) + "Job was released.\n" + f"\t{reason}\n" + SEP

def aborted(c, p, stamp, reason="via condor_rm (by user alice)", banner="Job was aborted."):
    return head(9, c, p, stamp) + banner + "\n" + f"\t{reason}\n" + SEP

def shadow_exc(c, p, stamp, msg, sent=0, recv=0):
    return head(7, c, p, stamp) + f"Shadow exception!\n\t{msg}\n\t{sent}  -  Run Bytes Sent By Job\n\t{recv}  -  Run Bytes Received By Job\n" + SEP

def suspended(c, p, stamp, n=1):
    return head(10, c, p, stamp) + f"Job was suspended.\n\tNumber of processes actually suspended: {n}\n" + SEP

def unsuspended(c, p, stamp):
    return head(11, c, p, stamp) + "Job was unsuspended.\n" + SEP

def disconnected(c, p, stamp, n, slot, reason="Socket between submit and execute hosts closed unexpectedly"):
    return head(22, c, p, stamp) + f"Job disconnected, attempting to reconnect\n    {reason}\n    Trying to reconnect to {slot}@e{n:03d}.example.edu {host(n)}\n" + SEP

def reconnected(c, p, stamp, n, slot):
    return head(23, c, p, stamp) + f"Job reconnected to {slot}@e{n:03d}.example.edu\n    startd address: {host(n)}\n    starter address: {starter(n, slot)}\n" + SEP

def reconnect_failed(c, p, stamp, n, slot, reason="Job disconnected too long: JobLeaseDuration (2400 seconds) expired"):
    return head(24, c, p, stamp) + f"Job reconnection failed\n    {reason}\n    Can not reconnect to {slot}@e{n:03d}.example.edu, rescheduling job\n" + SEP

def remote_error(c, p, stamp, n, slot, lines, code=None):
    s = head(21, c, p, stamp) + f"Error from starter on {slot}@e{n:03d}.example.edu:\n"
    for ln in lines:
        s += f"\t{ln}\n"
    if code:
        s += f"\tCode {code[0]} Subcode {code[1]}\n"
    return s + SEP

def exe_error(c, p, stamp, kind=0):
    text = {0: "Job file not executable.", 1: "Job not properly linked for Condor."}[kind]
    return head(2, c, p, stamp) + f"({kind}) {text}\n" + SEP

def cluster_submit(c, stamp):
    return head(35, c, -1, stamp) + f"Cluster submitted from host: {SCHEDD}\n" + SEP

def cluster_remove(c, stamp, made, items, completion="Complete", notes=None):
    s = head(36, c, -1, stamp) + "Cluster removed\n" + f"\tMaterialized {made} jobs from {items} items.\t{completion}\n"
    if notes:
        s += f"\t{notes}\n"
    return s + SEP

def factory_paused(c, stamp, reason, pause_code=1, hold_code=None):
    s = head(37, c, -1, stamp) + "Job Materialization Paused\n" + f"\t{reason}\n\tPauseCode {pause_code}\n"
    if hold_code:
        s += f"\tHoldCode {hold_code}\n"
    return s + SEP

def factory_resumed(c, stamp, reason):
    return head(38, c, -1, stamp) + "Job Materialization Resumed\n" + f"\t{reason}\n" + SEP

def ad_info(c, p, stamp, attrs):
    return head(28, c, p, stamp) + "Job ad information event triggered.\n" + "".join(f"{k} = {v}\n" for k, v in attrs) + SEP

J = ["3f9a2c1d5e7b8a60", "8c1e0f2a9b3d4e57", "a0b1c2d3e4f50617", "5d6e7f8091a2b3c4", "e1f2a3b4c5d6e7f8", "0a1b2c3d4e5f6071", "9e8d7c6b5a493827"]
WB_EXIT = "workbench: the job exited with code {}"
WB_SIG = "workbench: the job was killed by signal {}"
PERIODIC = ("The job attribute PeriodicRelease expression '((HoldReasonCode =?= 3 && HoldReasonSubCode =?= 2) || "
            "member(HoldReasonCode, {6, 12, 13})) && (NumHolds <= 3) && ((time() - EnteredCurrentStatus) > 120)' evaluated to TRUE")

def d(day_time):  # ISO local
    return f"2025-03-14 {day_time}"

files = {}

# 1. A normal pool run: file transfers, execute with slot properties, image size, termination with usage;
#    a job that exits 1 (held by workbench's on_exit_hold), one killed by a signal and retried.
c = 4821
s = submit(c, 0, d("09:12:03"), J[0]) + submit(c, 1, d("09:12:03"), J[1]) + submit(c, 2, d("09:12:03"), J[2])
s += ft(c, 0, d("09:13:10"), 1) + ft(c, 0, d("09:13:10"), 2, to=starter(33, "slot1_4")) + ft(c, 0, d("09:13:11"), 3)
s += execute(c, 0, d("09:13:12"), 33, "slot1_4")
s += ft(c, 1, d("09:13:15"), 2, to=starter(34, "slot1_1")) + ft(c, 1, d("09:13:15"), 3)
s += execute(c, 1, d("09:13:16"), 34, "slot1_1")
s += ft(c, 2, d("09:13:20"), 2, to=starter(35, "slot1_7")) + ft(c, 2, d("09:13:21"), 3)
s += execute(c, 2, d("09:13:21"), 35, "slot1_7")
s += image(c, 0, d("09:18:20")) + image(c, 1, d("09:18:24"), 9888, 10, 9888) + image(c, 2, d("09:18:30"), 1331200, 1300, 1331200)
s += ft(c, 1, d("09:19:02"), 5) + ft(c, 1, d("09:19:02"), 6)
s += held(c, 1, d("09:19:02"), WB_EXIT.format(1), 3, 1)
s += held(c, 2, d("09:22:41"), WB_SIG.format(9), 3, 2)
s += released(c, 2, d("09:24:48"), PERIODIC)
s += execute(c, 2, d("09:25:30"), 36, "slot1_2")
s += image(c, 2, d("09:30:33"), 1331200, 1300, 1331200)
s += ft(c, 0, d("09:41:02"), 4, queued=0) + ft(c, 0, d("09:41:02"), 5) + ft(c, 0, d("09:41:02"), 6)
s += terminated(c, 0, d("09:41:02"), texec=1650)
s += ad_info(c, 0, d("09:41:02"), [("Proc", 0), ("EventTime", '"2025-03-14T09:41:02"'), ("TriggerEventTypeNumber", 5), ("TriggerEventTypeName", '"ULOG_JOB_TERMINATED"'), ("Cluster", c), ("EventTypeNumber", 28)])
files["lifecycle_iso.log"] = s

# 2. Legacy MM/DD timestamps (HTCondor before 9.0, or EVENT_LOG_FORMAT_OPTIONS = LEGACY): no slot properties,
#    no usage table, an abnormal termination with and without a core file.
c = 112
def lg(t): return f"03/14 {t}"
s = submit(c, 0, lg("11:02:33"), J[0]) + submit(c, 1, lg("11:02:33"), J[1]) + submit(c, 2, lg("11:02:33"), J[2])
s += execute(c, 0, lg("11:03:07"), 21, props=False) + execute(c, 1, lg("11:03:08"), 22, props=False) + execute(c, 2, lg("11:03:08"), 23, props=False)
s += image(c, 0, lg("11:08:07"), 24776, 25, 23936)
s += terminated(c, 0, lg("11:09:51"), rv=0, secs=402, table=False)
s += terminated(c, 1, lg("11:10:12"), signal=9, secs=422, table=False)
s += terminated(c, 2, lg("11:11:40"), signal=11, secs=511, table=False, core="/home/alice/scan/core.4201")
files["legacy_timestamps.log"] = s

# 3. Holds and releases: a user hold (evicted first), a memory limit, an input transfer failure released and
#    run again, a hold without a reason, a job held at submission.
c = 5120
s = "".join(submit(c, p, d("10:00:00"), J[p]) for p in range(5))
s += execute(c, 0, d("10:01:10"), 40, "slot1_1") + execute(c, 1, d("10:01:12"), 41, "slot1_2")
s += evicted(c, 0, d("10:05:44"), code=(1, 0), reason="via condor_hold (by user alice)", secs=274)
s += held(c, 0, d("10:05:44"), "via condor_hold (by user alice)", 1, 0)
s += image(c, 1, d("10:06:12"), 1100000, 1075, 1100000)
s += evicted(c, 1, d("10:07:30"), code=(34, 102), reason="Error from slot1_2@e041.example.edu: Job has gone over cgroup memory limit of 1024 megabytes. Peak usage: 1075 megabytes.  Consider resubmitting with a higher request_memory.", secs=378)
s += held(c, 1, d("10:07:30"), "Error from slot1_2@e041.example.edu: Job has gone over cgroup memory limit of 1024 megabytes. Peak usage: 1075 megabytes.  Consider resubmitting with a higher request_memory.", 34, 102)
s += ft(c, 2, d("10:08:01"), 2, to=starter(42, "slot1_5"))
s += held(c, 2, d("10:08:03"), "Transfer input files failure at execution point slot1_5@e042.example.edu using protocol file. Details: reading from file /home/alice/scans/first/inputs/a0b1c2d3e4f50617.json: (errno 2) No such file or directory", 13, 2)
s += released(c, 2, d("10:10:05"), PERIODIC.replace("3 && HoldReasonSubCode", "3 && HoldReasonSubCode"))
s += ft(c, 2, d("10:10:40"), 2, to=starter(43, "slot1_1")) + ft(c, 2, d("10:10:41"), 3)
s += execute(c, 2, d("10:10:41"), 43, "slot1_1")
s += held(c, 3, d("10:11:00"), "", 21, 0)
s += held(c, 4, d("10:00:00"), "submitted on hold at user's request", 15, 0)
s += released(c, 0, d("10:20:00"))
s += released(c, 4, d("10:20:01"))
s += execute(c, 0, d("10:21:15"), 40, "slot1_1")
files["holds_releases.log"] = s

# 4. A self-checkpointing job: exits 85 after each checkpoint (checkpoint_exit_code), is evicted with a
#    checkpoint, restarts elsewhere and finishes; an old-style checkpointed event; a terminate-and-requeue
#    eviction; a pool without checkpoint_exit_code that logs the exit 85.
c = 6230
s = submit(c, 0, d("12:00:00"), J[0]) + submit(c, 1, d("12:00:00"), J[1]) + submit(c, 2, d("12:00:00"), J[2])
s += execute(c, 0, d("12:00:40"), 51, "slot1_3") + execute(c, 1, d("12:00:41"), 52, "slot1_9") + execute(c, 2, d("12:00:45"), 53, "slot1_6")
s += ft(c, 0, d("12:10:41"), 5) + ft(c, 0, d("12:10:41"), 6)  # the checkpoint after exit 85
s += ft(c, 0, d("12:20:42"), 5) + ft(c, 0, d("12:20:43"), 6)
s += evicted(c, 0, d("12:26:10"), checkpointed=True, code=(1005, 0), reason="The startd is shutting down", secs=1529)
s += checkpointed(c, 1, d("12:30:00"))
s += ft(c, 0, d("12:31:00"), 2, to=starter(54, "slot1_2")) + ft(c, 0, d("12:31:02"), 3)
s += execute(c, 0, d("12:31:02"), 54, "slot1_2")
s += evicted(c, 1, d("12:35:10"), requeued_rv=85, reason="OnExitRemove evaluated to FALSE", secs=2069)
s += execute(c, 1, d("12:36:00"), 55, "slot1_1")
s += terminated(c, 2, d("12:40:45"), rv=85, secs=2400, texec=2400)
s += terminated(c, 0, d("12:52:20"), texec=1278)
files["evictions_checkpoints.log"] = s

# 5. Aborts: an idle job removed, a running one removed (evicted first), an old-style banner, a held job removed.
c = 7001
s = "".join(submit(c, p, d("13:00:00"), J[p]) for p in range(4))
s += execute(c, 1, d("13:01:00"), 60, "slot1_1") + held(c, 3, d("13:01:30"), "via condor_hold (by user alice)", 1, 0)
s += aborted(c, 0, d("13:05:00"))
s += evicted(c, 1, d("13:05:02"), code=(1001, 0), reason="via condor_rm (by user alice)", secs=120, table=False)
s += aborted(c, 1, d("13:05:02"))
s += aborted(c, 2, d("13:05:03"), reason="via condor_rm (by user alice)", banner="Job was aborted by the user.")
s += aborted(c, 3, d("13:05:04"), reason="The job attribute PeriodicRemove expression 'JobStatus == 5' evaluated to TRUE")
files["aborts.log"] = s

# 6. Trouble on the execute side: a shadow exception, a disconnect with a reconnect, a reconnect that fails,
#    a starter error before a hold, an executable error, suspension.
c = 8123
s = "".join(submit(c, p, d("14:00:00"), J[p]) for p in range(6))
s += execute(c, 0, d("14:00:30"), 70, "slot1_1") + execute(c, 1, d("14:00:31"), 71, "slot1_3") + execute(c, 2, d("14:00:32"), 72, "slot1_2")
s += shadow_exc(c, 0, d("14:02:00"), "Error from slot1_1@e070.example.edu: FileTransfer: failed to receive file: connection closed", 0, 4211)
s += execute(c, 0, d("14:03:00"), 73, "slot1_4")
s += disconnected(c, 1, d("14:04:00"), 71, "slot1_3")
s += reconnected(c, 1, d("14:04:20"), 71, "slot1_3")
s += disconnected(c, 2, d("14:05:00"), 72, "slot1_2")
s += reconnect_failed(c, 2, d("14:45:00"), 72, "slot1_2")
s += remote_error(c, 3, d("14:06:00"), 74, "slot1_5", ["Failed to execute '/usr/bin/env' with arguments python3 -m workbench.job 5d6e7f8091a2b3c4.json --outdir .: (errno=2: 'No such file or directory')"], (6, 2))
s += held(c, 3, d("14:06:00"), "Error from slot1_5@e074.example.edu: Failed to execute '/usr/bin/env' with arguments python3 -m workbench.job 5d6e7f8091a2b3c4.json --outdir .: (errno=2: 'No such file or directory')", 6, 2)
s += exe_error(c, 4, d("14:06:30"))
s += execute(c, 5, d("14:07:00"), 75, "slot1_1") + suspended(c, 5, d("14:08:00")) + unsuspended(c, 5, d("14:09:00")) + suspended(c, 5, d("14:10:00"))
s += terminated(c, 1, d("14:30:00"))
files["execute_trouble.log"] = s

# 7. Late materialisation (max_idle): cluster events, jobs made as others finish, a paused factory,
#    and a cluster removed before it made all its jobs.
c1, c2 = 9001, 9002
s = cluster_submit(c1, d("15:00:00"))
s += submit(c1, 0, d("15:00:00"), J[0]) + submit(c1, 1, d("15:00:00"), J[1])
s += execute(c1, 0, d("15:00:20"), 80, "slot1_1") + execute(c1, 1, d("15:00:21"), 81, "slot1_1")
s += terminated(c1, 0, d("15:10:00")) + submit(c1, 2, d("15:10:05"), J[2])
s += terminated(c1, 1, d("15:10:30")) + execute(c1, 2, d("15:11:00"), 80, "slot1_1")
s += terminated(c1, 2, d("15:20:00"))
s += cluster_remove(c1, d("15:20:05"), 3, 3, "Complete")
s += cluster_submit(c2, d("15:30:00"))
s += submit(c2, 0, d("15:30:00"), J[3])
s += factory_paused(c2, d("15:31:00"), "Paused by condor_hold (by user alice)", 1)
s += factory_resumed(c2, d("15:35:00"), "Resumed by condor_release (by user alice)")
s += submit(c2, 1, d("15:35:02"), J[4])
s += aborted(c2, 0, d("15:40:00")) + aborted(c2, 1, d("15:40:00"))
s += cluster_remove(c2, d("15:40:01"), 2, 4, "Incomplete", "via condor_rm (by user alice)")
files["late_materialization.log"] = s

# 8. Several clusters in one log: a first submission with a failure, a resubmission of just that job, the old
#    held job removed after the resubmission (its events must not touch the new run), and another scan's jobs.
c1, c2, other = 10020, 10021, 10019
s = submit(other, 0, d("16:00:00"), "ffffffffffffffff") + execute(other, 0, d("16:00:10"), 90, "slot1_1")
s += "".join(submit(c1, p, d("16:01:00"), J[p]) for p in range(3))
s += "".join(execute(c1, p, d("16:01:30"), 91 + p, "slot1_1") for p in range(3))
s += terminated(c1, 0, d("16:10:00")) + terminated(c1, 2, d("16:10:10"))
s += held(c1, 1, d("16:10:05"), WB_EXIT.format(2), 3, 1)
s += terminated(other, 0, d("16:11:00"))
s += submit(c2, 0, d("16:20:00"), J[1])
s += aborted(c1, 1, d("16:20:01"), "via condor_rm (by user alice)")
s += execute(c2, 0, d("16:20:30"), 95, "slot1_3") + terminated(c2, 0, d("16:30:00"))
files["multi_cluster.log"] = s

# 9. EVENT_LOG_FORMAT_OPTIONS = ISO_DATE, UTC, SUB_SECOND: stamps like 2025-03-14 08:12:03.123Z.
c = 4901
def z(t): return f"2025-03-14 {t}Z"
s = submit(c, 0, z("08:12:03.120"), J[0]) + execute(c, 0, z("08:13:12.804"), 33, "slot1_4") + terminated(c, 0, z("08:41:02.455"), texec=1670)
s += submit(c, 1, z("23:59:59.999"), J[1]) + execute(c, 1, "2025-03-15 00:00:30.001Z", 34, "slot1_2")
files["utc_subsecond.log"] = s

# 10. A log cut in the middle of an event (a copy taken while the schedd was writing).
c = 4821
full = submit(c, 0, d("09:12:03"), J[0]) + submit(c, 1, d("09:12:03"), J[1]) + execute(c, 0, d("09:13:12"), 33, "slot1_4") + terminated(c, 0, d("09:41:02"), texec=1650)
cut = full.index("\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage") + 20
files["truncated.log"] = full[:cut]

# 11. Not an event log at all (a submit description saved under the log's name).
files["garbage.log"] = "universe = vanilla\nexecutable = /usr/bin/env\narguments = \"python3 -m workbench.job\"\nlog = logs/scan.log\nqueue job_index, job_id from jobs.txt\n...\nqueue\n"

# 12. Damage in the middle: a good stretch, a line of garbage followed by a separator (a disk that filled up
#     and a later restart), then good events again.
c = 5555
s = submit(c, 0, d("17:00:00"), J[0]) + submit(c, 1, d("17:00:00"), J[1]) + execute(c, 0, d("17:00:30"), 33, "slot1_4")
s += "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\n...\n"
s += execute(c, 1, d("17:05:00"), 34, "slot1_1") + terminated(c, 0, d("17:20:00")) + terminated(c, 1, d("17:25:00"), rv=0)
files["damaged_middle.log"] = s

for name, text in files.items():
    (OUT / name).write_text(text)
    print(name, len(text))
