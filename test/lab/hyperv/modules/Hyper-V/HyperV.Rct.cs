// guts Hyper-V lab: Resilient Change Tracking (RCT) of the lab's virtual disks.
//
// State, in the host model (vms.json), per VM drive (a virtual disk = the drive's chain):
//   HardDrives[i].LabRct = { Guid, Granularity, Size, Point, Oldest, Changes: { "<epoch>": "0-3 12" } }
//     Guid: the disk's tracking GUID (new after a reset); Point: the most recent sealed point (1 when
//     tracking starts, +1 at every checkpoint creation); Oldest: the oldest point the disk still has
//     history for; Changes[k]: the blocks (of Granularity bytes) written after point k and before k+1.
//   Snapshots[j].HardDrives[i].LabRctId = the id the checkpoint sealed on that drive's frozen file.
//   LabReferencePoints[] = { InstanceID, ConsistencyLevel, ResilientChangeTrackingIdentifiers[], ... }.
// Projection for VirtDisk (virtdisk.c) and Get-VHD: one sidecar "<file>.rct" per file of the chain
// (the active leaf and every frozen file), rewritten whenever tracking changes (WriteSidecars).
// Retention (lab choice, see LAB-NOTES.md): history is kept back to the oldest point still held by
// the disk's most recent point, an existing checkpoint, or a reference point; older epochs go.
// (Appended to HyperV.Types.ps1's source: using directives inside the namespace.)
namespace GutsLab
{
    using System;
    using System.Collections;
    using System.Collections.Generic;
    using System.Collections.Specialized;
    using System.Globalization;
    using System.IO;
    using System.Management.Automation;
    using System.Text;

    public static class Rct
    {
        public const long DefaultGranularity = 1024 * 1024;

        static IDictionary D(object o) { var p = o as PSObject; return (p != null ? p.BaseObject : o) as IDictionary; }
        static string S(object r, string n) { var v = Objects.Get(r, n); return v == null ? null : v.ToString(); }
        static long L(object r, string n) { var v = Objects.Get(r, n); return v == null ? 0 : Convert.ToInt64(v, CultureInfo.InvariantCulture); }
        static OrderedDictionary NewDict() { return new OrderedDictionary(StringComparer.OrdinalIgnoreCase); }

        /// <summary>rctX:5bfde23b:ce75:4303:b54f:6c18394f105c:00000001 — the tracking GUID with colons, the point's sequence in 8 hex digits.</summary>
        public static string Id(string guid, long point)
        {
            return "rctX:" + guid.ToLowerInvariant().Replace('-', ':') + ":" + point.ToString("x8", CultureInfo.InvariantCulture);
        }

        public static bool TryParseId(string id, out string guid, out long point)
        {
            guid = null; point = 0;
            if (id == null || id.Length != 50 || !id.StartsWith("rctX:", StringComparison.Ordinal) || id[41] != ':') return false;
            Guid g;
            if (id.Substring(5, 36).Contains("-") || !Guid.TryParseExact(id.Substring(5, 36).Replace(':', '-'), "D", out g)) return false;
            if (!long.TryParse(id.Substring(42), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out point)) return false;
            guid = g.ToString();
            return true;
        }

        /// <summary>RCT needs VM configuration version 6.2 or later (Windows Server 2016).</summary>
        public static bool VersionSupports(object vm)
        {
            Version v;
            return Version.TryParse(S(vm, "Version") ?? "", out v) && v >= new Version(6, 2);
        }

        /// <summary>A drive whose disk RCT tracks: a VHDX chain (VHD has none), not a pass-through disk.</summary>
        public static bool Trackable(object vm, object drive)
        {
            if (!VersionSupports(vm) || Objects.Get(drive, "DiskNumber") != null) return false;
            string p = (S(drive, "Path") ?? "").ToLowerInvariant();
            return p.EndsWith(".vhdx") || p.EndsWith(".avhdx");
        }

        static string Slot(object d) { return S(d, "ControllerType") + "|" + L(d, "ControllerNumber") + "|" + L(d, "ControllerLocation"); }

        /// <summary>The drive's tracking state, started (point 1, nothing recorded) when the host first tracks it.</summary>
        public static IDictionary Ensure(object vm, object drive, string cRoot)
        {
            var dd = D(drive);
            if (dd == null || !Trackable(vm, drive)) return null;
            var rct = D(dd["LabRct"]);
            if (rct != null) return rct;
            string fs = Chain.WinToFs(S(drive, "Path"), cRoot);
            if (!File.Exists(fs)) return null;
            long size;
            using (var disk = VDisk.Open(fs, false)) size = (long)disk.Size;
            long g = Objects.Get(drive, "LabRctGranularity") != null ? L(drive, "LabRctGranularity") : DefaultGranularity;
            rct = NewDict();
            rct["Guid"] = Guid.NewGuid().ToString(); rct["Granularity"] = g; rct["Size"] = size;
            rct["Point"] = 1L; rct["Oldest"] = 1L; rct["Changes"] = NewDict();
            dd["LabRct"] = rct;
            return rct;
        }

        public static void EnsureAll(object vm, string cRoot) { foreach (var d in Objects.Arr(Objects.Get(vm, "HardDrives"))) Ensure(vm, d, cRoot); }

        /// <summary>A checkpoint freezes the drive: a new point is sealed; the frozen file keeps its id.</summary>
        public static void Seal(object vm, object drive, IDictionary frozen, string cRoot)
        {
            var rct = Ensure(vm, drive, cRoot);
            if (rct == null) return;
            long p = L(rct, "Point") + 1;
            rct["Point"] = p;
            frozen["LabRctId"] = Id(S(rct, "Guid"), p);
        }

        /// <summary>The guest wrote [off, off+len) into drive <paramref name="index"/>: its blocks changed after the most recent point.</summary>
        public static void MarkWrite(object vm, int index, long off, long len, string cRoot)
        {
            var drives = Objects.Arr(Objects.Get(vm, "HardDrives"));
            if (index < 0 || index >= drives.Length || len <= 0) return;
            var rct = Ensure(vm, drives[index], cRoot);
            if (rct == null) return;
            long g = L(rct, "Granularity"), size = L(rct, "Size");
            long first = off / g, last = (Math.Min(off + len, size) - 1) / g;
            if (off >= size) return;
            var changes = D(rct["Changes"]);
            if (changes == null) { changes = NewDict(); rct["Changes"] = changes; }
            string key = L(rct, "Point").ToString(CultureInfo.InvariantCulture);
            var set = Blocks(changes.Contains(key) ? changes[key] as string : null);
            for (long b = first; b <= last; b++) set.Add(b);
            changes[key] = FormatBlocks(set);
        }

        /// <summary>Drops history nothing holds any more (see the header).</summary>
        public static void Retain(object vm)
        {
            var rpIds = new List<string>();
            foreach (var rp in Objects.Arr(Objects.Get(vm, "LabReferencePoints")))
                foreach (var id in Objects.Arr(Objects.Get(rp, "ResilientChangeTrackingIdentifiers"))) if (id != null) rpIds.Add(id.ToString());
            foreach (var d in Objects.Arr(Objects.Get(vm, "HardDrives")))
            {
                var rct = D(Objects.Get(d, "LabRct"));
                if (rct == null) continue;
                string guid = S(rct, "Guid");
                long held = L(rct, "Point");
                var ids = new List<string>(rpIds);
                foreach (var sn in Objects.Arr(Objects.Get(vm, "Snapshots")))
                    foreach (var fd in Objects.Arr(Objects.Get(sn, "HardDrives")))
                        if (Slot(fd) == Slot(d) && S(fd, "LabRctId") != null) ids.Add(S(fd, "LabRctId"));
                foreach (var id in ids)
                {
                    string g; long p;
                    if (TryParseId(id, out g, out p) && g == guid && p < held) held = p;
                }
                long oldest = Math.Max(L(rct, "Oldest"), held);
                rct["Oldest"] = oldest;
                var changes = D(rct["Changes"]);
                if (changes == null) continue;
                var drop = new List<object>();
                foreach (DictionaryEntry e in changes) if (long.Parse(e.Key.ToString(), CultureInfo.InvariantCulture) < oldest) drop.Add(e.Key);
                foreach (var k in drop) changes.Remove(k);
            }
        }

        /// <summary>The host lost the disk's change tracking (a damaged .rct/.mrt, an offline resize): a new GUID, no history.</summary>
        public static string Reset(object vm, int index, string cRoot)
        {
            var drives = Objects.Arr(Objects.Get(vm, "HardDrives"));
            if (index < 0 || index >= drives.Length) throw new ArgumentException("the VM has no drive " + index);
            var rct = Ensure(vm, drives[index], cRoot);
            if (rct == null) throw new InvalidOperationException("drive " + index + " has no change tracking (VHD, pass-through, or a VM configuration version below 6.2)");
            rct["Guid"] = Guid.NewGuid().ToString(); rct["Point"] = 1L; rct["Oldest"] = 1L; rct["Changes"] = NewDict();
            return Id(S(rct, "Guid"), 1);
        }

        /// <summary>Rewrites the sidecar of every file of every tracked drive of the VM.</summary>
        public static void WriteSidecars(object vm, string cRoot)
        {
            foreach (var d in Objects.Arr(Objects.Get(vm, "HardDrives")))
            {
                var rct = D(Objects.Get(d, "LabRct"));
                if (rct == null) continue;
                string guid = S(rct, "Guid");
                var common = new StringBuilder();
                common.Append("guts-lab-rct 1\n");
                common.Append("disk-guid ").Append(guid).Append('\n');
                common.Append("granularity ").Append(L(rct, "Granularity")).Append('\n');
                common.Append("size ").Append(L(rct, "Size")).Append('\n');
                common.Append("oldest ").Append(L(rct, "Oldest")).Append('\n');
                common.Append("current ").Append(L(rct, "Point")).Append('\n');
                var epochs = new StringBuilder();
                var changes = D(rct["Changes"]);
                if (changes != null)
                    foreach (DictionaryEntry e in changes)
                        if (!string.IsNullOrEmpty(e.Value as string)) epochs.Append("epoch ").Append(e.Key).Append(' ').Append(e.Value).Append('\n');
                Put(Chain.WinToFs(S(d, "Path"), cRoot), common, guid, L(rct, "Point"), true, epochs);
                foreach (var sn in Objects.Arr(Objects.Get(vm, "Snapshots")))
                    foreach (var fd in Objects.Arr(Objects.Get(sn, "HardDrives")))
                    {
                        string g; long p;
                        if (Slot(fd) != Slot(d) || !TryParseId(S(fd, "LabRctId"), out g, out p)) continue;
                        Put(Chain.WinToFs(S(fd, "Path"), cRoot), common, g, p, false, epochs);
                    }
            }
        }

        static void Put(string fs, StringBuilder common, string fileGuid, long point, bool active, StringBuilder epochs)
        {
            if (!File.Exists(fs)) return;
            var text = new StringBuilder(common.ToString());
            text.Append("file-guid ").Append(fileGuid).Append('\n');
            text.Append("file-point ").Append(point).Append('\n');
            text.Append("file-active ").Append(active ? 1 : 0).Append('\n');
            text.Append(epochs);
            string tmp = fs + ".rct.tmp." + Environment.ProcessId;
            File.WriteAllText(tmp, text.ToString(), new UTF8Encoding(false));
            File.Move(tmp, fs + ".rct", true);
        }

        public static void DeleteSidecar(string fs) { try { File.Delete(fs + ".rct"); } catch (IOException) { } }

        /// <summary>Get-VHD's RctId: the file's own id (the active leaf: the most recent point; a frozen file: the point sealed when it froze); "" without tracking.</summary>
        public static string FileRctId(string fs)
        {
            string side = fs + ".rct";
            if (!File.Exists(side)) return "";
            string guid = null; long point = -1;
            foreach (var line in File.ReadAllLines(side))
            {
                if (line.StartsWith("file-guid ", StringComparison.Ordinal)) guid = line.Substring(10).Trim();
                else if (line.StartsWith("file-point ", StringComparison.Ordinal)) long.TryParse(line.Substring(11).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out point);
            }
            return guid != null && point >= 0 ? Id(guid, point) : "";
        }

        public static SortedSet<long> Blocks(string s)
        {
            var set = new SortedSet<long>();
            if (string.IsNullOrEmpty(s)) return set;
            foreach (var tok in s.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries))
            {
                int dash = tok.IndexOf('-');
                long a = long.Parse(dash < 0 ? tok : tok.Substring(0, dash), CultureInfo.InvariantCulture);
                long b = dash < 0 ? a : long.Parse(tok.Substring(dash + 1), CultureInfo.InvariantCulture);
                for (long k = a; k <= b; k++) set.Add(k);
            }
            return set;
        }

        /// <summary>Blocks as "a-b c ..." (runs of consecutive blocks as one token).</summary>
        public static string FormatBlocks(IEnumerable<long> blocks)
        {
            var sb = new StringBuilder();
            long start = -1, prev = -2;
            foreach (var b in blocks)
            {
                if (b == prev + 1) { prev = b; continue; }
                if (start >= 0) Run(sb, start, prev);
                start = prev = b;
            }
            if (start >= 0) Run(sb, start, prev);
            return sb.ToString();
        }

        static void Run(StringBuilder sb, long a, long b)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(a.ToString(CultureInfo.InvariantCulture));
            if (b != a) sb.Append('-').Append(b.ToString(CultureInfo.InvariantCulture));
        }
    }
}
