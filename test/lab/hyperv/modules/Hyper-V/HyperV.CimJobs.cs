// guts Hyper-V lab: Msvm_ConcreteJob, the jobs that Hyper-V's asynchronous WMI methods return (4096 =
// "Method Parameters Checked - Job Started").  The lab does the work when the method is called and
// records the outcome; the job then advances as it is read: Running (JobState 4) on the first read,
// Completed (7) or Exception (10, with ErrorCode/ErrorDescription) from the second read on, like a
// short VMMS job that a client polls.  Jobs go 5 minutes after they finished (TimeBeforeRemoval's
// default, 00000000000500.000000:000); a job that is gone reads as WMI's "Not found".
// Store: <host dir>/cim-jobs.json (next to vms.json), under cim-jobs.json.lock (FileShare.None = flock).
// (Appended to HyperV.Types.ps1's source: using directives inside the namespace.)
namespace GutsLab
{
    using System;
    using System.Collections;
    using System.Collections.Generic;
    using System.Collections.Specialized;
    using System.Globalization;
    using System.IO;
    using System.Text;
    using System.Threading;

    public static class CimJobs
    {
        static readonly TimeSpan Removal = TimeSpan.FromMinutes(5);
        static OrderedDictionary Row() { return new OrderedDictionary(StringComparer.OrdinalIgnoreCase); }
        static string S(object r, string n) { var v = Objects.Get(r, n); return v == null ? null : v.ToString(); }

        public static string StorePath(string modelPath) { return Path.Combine(Path.GetDirectoryName(modelPath), "cim-jobs.json"); }

        /// <summary>Runs <paramref name="change"/> on the job list under the store's lock; saves when it returns true.</summary>
        static List<object> Locked(string modelPath, Func<List<object>, bool> change)
        {
            string store = StorePath(modelPath);
            FileStream lk = null;
            for (int i = 0; i < 200 && lk == null; i++)
            {
                try { lk = new FileStream(store + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
                catch (IOException) { Thread.Sleep(25); }
            }
            if (lk == null) throw new IOException("guts lab: the job store is locked (" + store + ".lock)");
            try
            {
                var jobs = new List<object>();
                if (File.Exists(store)) jobs.AddRange(Objects.Arr(Json.Parse(File.ReadAllText(store, Encoding.UTF8))));
                var now = DateTime.UtcNow;
                int before = jobs.Count;
                jobs.RemoveAll(j => Objects.Get(j, "Finished") != null && Objects.Utc(Objects.Get(j, "Finished")) + Removal < now
                    || Objects.Utc(Objects.Get(j, "Submitted")) + TimeSpan.FromHours(1) < now);
                if (change(jobs) || jobs.Count != before)
                {
                    string tmp = store + ".tmp." + Environment.ProcessId;
                    File.WriteAllText(tmp, Json.Write(jobs), new UTF8Encoding(false));
                    File.Move(tmp, store, true);
                }
                return jobs;
            }
            finally { lk.Dispose(); }
        }

        /// <summary>Records a finished piece of work as a job; returns its InstanceID.  <paramref name="affected"/>:
        /// (class, key properties) of what it made or changed (Msvm_AffectedJobElement).</summary>
        public static string Add(string modelPath, int jobType, string caption, string description, string error, IList affected)
        {
            var j = Row();
            string id = Guid.NewGuid().ToString().ToUpperInvariant();
            j["InstanceID"] = id; j["JobType"] = jobType; j["Caption"] = caption; j["Description"] = description;
            j["Submitted"] = DateTime.UtcNow.ToString("o"); j["Reads"] = 0L; j["Finished"] = null;
            j["Error"] = error; j["Affected"] = affected ?? new object[0];
            Locked(modelPath, jobs => { jobs.Add(j); return true; });
            return id;
        }

        /// <summary>The jobs (only <paramref name="onlyId"/> when given), each read once more: that is how they advance.</summary>
        public static List<IDictionary> Read(string modelPath, string onlyId)
        {
            var rows = new List<IDictionary>();
            Locked(modelPath, jobs =>
            {
                bool changed = false;
                foreach (var j in jobs)
                {
                    // (PowerShell hands a .NET string parameter $null as "": both mean every job)
                    if (!string.IsNullOrEmpty(onlyId) && !string.Equals(S(j, "InstanceID"), onlyId, StringComparison.OrdinalIgnoreCase)) continue;
                    var d = (IDictionary)j;
                    long reads = Convert.ToInt64(d["Reads"] ?? 0L, CultureInfo.InvariantCulture) + 1;
                    d["Reads"] = reads;
                    if (reads >= 2 && d["Finished"] == null) d["Finished"] = DateTime.UtcNow.ToString("o");
                    changed = true;
                    rows.Add(JobRow(d));
                }
                return changed;
            });
            return rows;
        }

        /// <summary>A job as Msvm_ConcreteJob, in its state for the number of reads so far.</summary>
        public static IDictionary JobRow(IDictionary j)
        {
            var r = Row();
            bool done = j["Finished"] != null, failed = !string.IsNullOrEmpty(j["Error"] as string);
            var submitted = Objects.Utc(j["Submitted"]);
            ushort state = (ushort)(!done ? 4 : failed ? 10 : 7);
            r["InstanceID"] = j["InstanceID"]; r["Caption"] = j["Caption"]; r["Description"] = j["Description"]; r["ElementName"] = j["Caption"];
            r["InstallDate"] = null; r["Name"] = j["Caption"]; r["OperationalStatus"] = new ushort[] { (ushort)(failed && done ? 6 : 2) };
            r["StatusDescriptions"] = new[] { failed && done ? "Error" : "OK" }; r["Status"] = null; r["HealthState"] = (ushort)5;
            r["JobStatus"] = !done ? "Job is running" : failed ? "Job failed" : "Job completed successfully";
            r["TimeSubmitted"] = submitted.ToLocalTime(); r["ScheduledStartTime"] = submitted.ToLocalTime(); r["StartTime"] = submitted.ToLocalTime();
            r["ElapsedTime"] = done ? TimeSpan.FromMilliseconds(250) : DateTime.UtcNow - submitted;
            r["JobRunTimes"] = 1u; r["Owner"] = null; r["Priority"] = 0u;
            r["PercentComplete"] = (ushort)(done ? 100 : 50); r["DeleteOnCompletion"] = false;
            r["ErrorCode"] = (ushort)(done && failed ? 32768 : 0);
            r["ErrorDescription"] = done && failed ? j["Error"] : "";
            r["ErrorSummaryDescription"] = done && failed ? j["Error"] : "";
            r["RecoveryAction"] = (ushort)0; r["OtherRecoveryAction"] = null;
            r["JobState"] = state;
            r["TimeOfLastStateChange"] = (done ? Objects.Utc(j["Finished"]) : submitted).ToLocalTime();
            r["TimeBeforeRemoval"] = Removal;
            r["Cancellable"] = !done;
            r["JobType"] = (ushort)Convert.ToUInt16(j["JobType"], CultureInfo.InvariantCulture);
            return r;
        }

        /// <summary>A reference to a job, as an out parameter carries it: the key and nothing else.</summary>
        public static IDictionary KeyOnly(string id)
        {
            var full = JobRow(new Hashtable { { "InstanceID", id }, { "Submitted", DateTime.UtcNow.ToString("o") }, { "JobType", 0 }, { "Finished", null }, { "Error", null } });
            var r = Row();
            foreach (DictionaryEntry e in full) r[e.Key] = string.Equals((string)e.Key, "InstanceID", StringComparison.OrdinalIgnoreCase) ? e.Value : null;
            return r;
        }

        /// <summary>Msvm_AffectedJobElement from either end: a job's affected elements (those that still
        /// exist), or the jobs that affected an element.  Reads do not advance jobs here.</summary>
        public static List<KeyValuePair<string, IDictionary>> AffectedOrAffecting(List<object> vms, string modelPath, string cls, IDictionary row)
        {
            var l = new List<KeyValuePair<string, IDictionary>>();
            if (!File.Exists(StorePath(modelPath))) return l;
            var jobs = Locked(modelPath, _ => false);
            foreach (var j in jobs)
            {
                var d = (IDictionary)j;
                bool isThis = cls.Equals("Msvm_ConcreteJob", StringComparison.OrdinalIgnoreCase) && string.Equals(S(d, "InstanceID"), S(row, "InstanceID"), StringComparison.OrdinalIgnoreCase);
                foreach (var a in Objects.Arr(d["Affected"]))
                {
                    string ac = S(a, "Class");
                    var keys = Objects.Get(a, "Keys");
                    if (isThis)
                    {
                        var target = Resolve(vms, ac, keys);
                        if (target != null) l.Add(new KeyValuePair<string, IDictionary>(ac, target));
                    }
                    else if (string.Equals(ac, cls, StringComparison.OrdinalIgnoreCase) && CimV2.SameKeys(cls, row, keys))
                        l.Add(new KeyValuePair<string, IDictionary>("Msvm_ConcreteJob", JobRow(d)));
                }
            }
            return l;
        }

        static IDictionary Resolve(List<object> vms, string cls, object keys)
        {
            IEnumerable<IDictionary> rows =
                cls.Equals("Msvm_ComputerSystem", StringComparison.OrdinalIgnoreCase) ? Cim.ComputerSystems(vms) :
                cls.Equals("Msvm_VirtualSystemSettingData", StringComparison.OrdinalIgnoreCase) ? CimV2.SettingDatas(vms) :
                cls.Equals("Msvm_VirtualSystemReferencePoint", StringComparison.OrdinalIgnoreCase) ? CimV2.ReferencePoints(vms) : new List<IDictionary>();
            foreach (var r in rows) if (CimV2.SameKeys(cls, r, keys)) return r;
            return null;
        }
    }
}
