// guts Hyper-V lab: the host model's JSON <-> PowerShell objects, and the cmdlets' output objects,
// in C# so that a 1,000-VM host answers an inventory in well under a second (ConvertFrom-Json of
// 1.8 MB takes ~0.5 s, and building ~5,000 objects in script ~3 s).  The objects are the same
// PSCustomObjects with the same type names and property order the script code made before.
// (Appended to HyperV.Types.ps1's source: using directives inside the namespace.)
namespace GutsLab
{
    using System;
    using System.Collections;
    using System.Collections.Generic;
    using System.Globalization;
    using System.IO;
    using System.Management.Automation;
    using System.Text;
    using System.Text.Json;
    using Microsoft.HyperV.PowerShell;

    /// <summary>JSON text -> records: objects become case-insensitive ordered dictionaries (script code
    /// reads and sets their keys as properties: $r.Name, $r.Path = ...; an O(1) lookup, where a
    /// PSObject property lookup costs microseconds), arrays object[], strings stay strings (no date
    /// conversion), numbers long/double; and back to JSON.</summary>
    public static class Json
    {
        static string cachedPath; static long cachedStamp = -1, cachedLength = -1; static object cached;

        /// <summary>The model file, parsed once per process while the file is unchanged (the Hyper-V
        /// and CimCmdlets modules share it).  Callers must not change it: Update-LabModel parses afresh.</summary>
        public static object ReadCached(string path)
        {
            var fi = new FileInfo(path);
            long stamp = fi.LastWriteTimeUtc.Ticks, len = fi.Length;
            lock (typeof(Json))
            {
                if (cached != null && cachedPath == path && cachedStamp == stamp && cachedLength == len) return cached;
                var v = Parse(File.ReadAllText(path, Encoding.UTF8));
                cached = v; cachedPath = path; cachedStamp = stamp; cachedLength = len;
                return v;
            }
        }

        public static object Parse(string text)
        {
            using (var doc = JsonDocument.Parse(text)) return Convert(doc.RootElement);
        }

        static object Convert(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    var o = new System.Collections.Specialized.OrderedDictionary(StringComparer.OrdinalIgnoreCase);
                    foreach (var p in e.EnumerateObject()) o[p.Name] = Convert(p.Value);
                    return o;
                case JsonValueKind.Array:
                    var l = new List<object>();
                    foreach (var x in e.EnumerateArray()) l.Add(Convert(x));
                    return l.ToArray();
                case JsonValueKind.String: return e.GetString();
                case JsonValueKind.Number:
                    long n; if (e.TryGetInt64(out n)) return n;
                    return e.GetDouble();
                case JsonValueKind.True: return true;
                case JsonValueKind.False: return false;
                default: return null;
            }
        }

        public static string Write(object value)
        {
            var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                WriteValue(w, value);
            return Encoding.UTF8.GetString(ms.ToArray());
        }

        static void WriteValue(Utf8JsonWriter w, object v)
        {
            var pso = v as PSObject;
            if (pso != null && !(pso.BaseObject is PSCustomObject)) v = pso.BaseObject;
            if (v == null) { w.WriteNullValue(); return; }
            if (v is PSObject)
            {
                w.WriteStartObject();
                foreach (var p in ((PSObject)v).Properties)
                {
                    if (!(p is PSNoteProperty)) continue;
                    w.WritePropertyName(p.Name);
                    WriteValue(w, p.Value);
                }
                w.WriteEndObject();
                return;
            }
            if (v is string) { w.WriteStringValue((string)v); return; }
            if (v is bool) { w.WriteBooleanValue((bool)v); return; }
            if (v is Enum) { w.WriteStringValue(v.ToString()); return; }
            if (v is Guid) { w.WriteStringValue(((Guid)v).ToString()); return; }
            if (v is DateTime) { w.WriteStringValue(((DateTime)v).ToUniversalTime().ToString("o")); return; }
            if (v is int || v is long || v is short || v is byte || v is uint || v is ulong || v is ushort) { w.WriteNumberValue(System.Convert.ToDecimal(v)); return; }
            if (v is double || v is float || v is decimal) { w.WriteNumberValue(System.Convert.ToDouble(v)); return; }
            if (v is IDictionary)
            {
                w.WriteStartObject();
                foreach (DictionaryEntry de in (IDictionary)v) { w.WritePropertyName(de.Key.ToString()); WriteValue(w, de.Value); }
                w.WriteEndObject();
                return;
            }
            if (v is IEnumerable)
            {
                w.WriteStartArray();
                foreach (var x in (IEnumerable)v) WriteValue(w, x);
                w.WriteEndArray();
                return;
            }
            w.WriteStringValue(v.ToString());
        }
    }

    /// <summary>The Hyper-V cmdlets' output objects from model records.</summary>
    public static class Objects
    {
        public static string ComputerName = Environment.GetEnvironmentVariable("COMPUTERNAME") ?? "";

        // a record: a dictionary from the JSON reader, or a PSObject made by script code
        public static object Get(object r, string n)
        {
            if (r == null) return null;
            var pso = r as PSObject;
            if (pso != null && !(pso.BaseObject is PSCustomObject)) r = pso.BaseObject;
            var ci = r as CimInstance;
            if (ci != null) r = ci.Props;
            var d = r as IDictionary;
            if (d != null) return d.Contains(n) ? Unwrap(d[n]) : null;
            if (pso == null) return null;
            var p = pso.Properties[n];
            return p == null ? null : Unwrap(p.Value);
        }
        static object Unwrap(object v) { var p = v as PSObject; return p != null && !(p.BaseObject is PSCustomObject) ? p.BaseObject : v; }
        static string S(object r, string n) { var v = Get(r, n); return v == null ? null : v.ToString(); }
        static string Str(object r, string n) { return S(r, n) ?? ""; }
        static long L(object r, string n) { var v = Get(r, n); return v == null ? 0 : System.Convert.ToInt64(v, CultureInfo.InvariantCulture); }
        static bool B(object r, string n) { var v = Get(r, n); return v != null && LanguagePrimitives.IsTrue(v); }
        static T E<T>(object r, string n) { return (T)Enum.Parse(typeof(T), S(r, n), true); }
        public static object[] Arr(object v)
        {
            if (v == null) return new object[0];
            if (v is IDictionary) return new[] { v };
            var pso = v as PSObject;
            if (pso != null && !(pso.BaseObject is PSCustomObject)) v = pso.BaseObject;
            var a = v as object[];
            if (a != null) return a;
            if (v is IEnumerable && !(v is string)) { var l = new List<object>(); foreach (var x in (IEnumerable)v) l.Add(x); return l.ToArray(); }
            return new[] { v };
        }

        public static DateTime Utc(object v)
        {
            if (v is PSObject) v = ((PSObject)v).BaseObject;
            if (v is DateTime) return ((DateTime)v).ToUniversalTime();
            return DateTime.Parse(v.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind).ToUniversalTime();
        }

        public static HardDiskDrive HardDiskDrive(object r, object d, object sn)
        {
            var ct = E<ControllerType>(d, "ControllerType");
            string id = Str(r, "Id");
            return new HardDiskDrive
            {
                Name = string.Format(CultureInfo.InvariantCulture, "Hard Drive on {0} controller number {1} at location {2}", ct, L(d, "ControllerNumber"), L(d, "ControllerLocation")),
                Id = string.Format(CultureInfo.InvariantCulture, "Microsoft:{0}\\{1}\\{2}\\{3}\\D", id.ToUpperInvariant(), ct, L(d, "ControllerNumber"), L(d, "ControllerLocation")),
                Path = Str(d, "Path"),
                // only pass-through disks have one (the host's disk number); Path is then the disk's description
                DiskNumber = Get(d, "DiskNumber") == null ? (int?)null : (int)L(d, "DiskNumber"),
                ControllerType = ct,
                ControllerNumber = (int)L(d, "ControllerNumber"),
                ControllerLocation = (int)L(d, "ControllerLocation"),
                SupportPersistentReservations = B(d, "SupportPersistentReservations"),
                VMName = Str(r, "Name"),
                VMId = new Guid(id),
                VMSnapshotId = sn == null ? Guid.Empty : new Guid(Str(sn, "Id")),
                VMSnapshotName = sn == null ? "" : Str(sn, "Name"),
                ComputerName = ComputerName,
            };
        }

        public static VMNetworkAdapter NetworkAdapter(object r, object n)
        {
            bool running = Str(r, "State") == "Running";
            string sw = S(n, "SwitchName");
            var ips = new List<string>();
            if (running) foreach (var x in Arr(Get(n, "LabGuestIPAddresses"))) if (x != null) ips.Add(x.ToString());
            return new VMNetworkAdapter
            {
                Name = Str(n, "Name"),
                Id = string.Format("Microsoft:{0}\\{1}", Str(r, "Id").ToUpperInvariant(), Str(n, "Id").ToUpperInvariant()),
                IsLegacy = B(n, "IsLegacy"),
                MacAddress = Str(n, "MacAddress"),
                DynamicMacAddressEnabled = B(n, "DynamicMacAddressEnabled"),
                // null when not connected, like Hyper-V
                SwitchName = string.IsNullOrEmpty(sw) ? null : sw,
                Connected = !string.IsNullOrEmpty(sw),
                // the guest reports addresses through integration services (KVP) only while it runs
                IPAddresses = ips.ToArray(),
                Status = running ? new[] { "Ok" } : new string[0],
                VMName = Str(r, "Name"),
                VMId = new Guid(Str(r, "Id")),
                ComputerName = ComputerName,
                VlanSetting = new VMNetworkAdapterVlanSetting
                {
                    OperationMode = L(n, "VlanId") != 0 ? VMNetworkAdapterVlanMode.Access : VMNetworkAdapterVlanMode.Untagged,
                    AccessVlanId = (int)L(n, "VlanId"),
                },
            };
        }

        /// <summary>The name of the checkpoint the VM's current state derives from (ParentSnapshotName).</summary>
        public static string ParentSnapshotName(object r)
        {
            string ps = S(r, "ParentSnapshotId");
            if (string.IsNullOrEmpty(ps)) return null;
            foreach (var sn in Arr(Get(r, "Snapshots"))) if (sn != null && string.Equals(Str(sn, "Id"), ps, StringComparison.OrdinalIgnoreCase)) return S(sn, "Name");
            return null;
        }

        public static List<VirtualMachine> VMs(IEnumerable records)
        {
            var l = new List<VirtualMachine>();
            foreach (var r in records) if (r != null) l.Add(VM(r, ParentSnapshotName(r)));
            return l;
        }

        /// <summary>The records that have checkpoints (Get-VMSnapshot -VM $vms looks at these only).</summary>
        public static List<object> WithSnapshots(IEnumerable records)
        {
            var l = new List<object>();
            foreach (var r in records) if (r != null && Arr(Get(r, "Snapshots")).Length > 0) l.Add(r);
            return l;
        }

        public static List<VMFirmware> Firmware(IEnumerable records, List<object> notGen2)
        {
            var l = new List<VMFirmware>();
            foreach (var r in records)
            {
                if (r == null) continue;
                var fw = Get(r, "Firmware");
                if (L(r, "Generation") != 2 || fw == null) { notGen2.Add(r); continue; }
                l.Add(new VMFirmware
                {
                    SecureBoot = E<OnOffState>(fw, "SecureBoot"),
                    SecureBootTemplate = Str(fw, "SecureBootTemplate"),
                    SecureBootTemplateId = new Guid(Str(fw, "SecureBootTemplateId")),
                    VMName = Str(r, "Name"),
                    VMId = new Guid(Str(r, "Id")),
                    ComputerName = ComputerName,
                });
            }
            return l;
        }

        public static VirtualMachine VM(object r, string parentSnapshotName)
        {
            var state = E<VMState>(r, "State");
            bool running = state == VMState.Running;
            string id = Str(r, "Id");
            var started = Get(r, "LabStartedAt");
            string ps = S(r, "ParentSnapshotId");
            var o = new VirtualMachine
            {
                Name = Str(r, "Name"),
                Id = new Guid(id),
                State = state,
                Generation = (int)L(r, "Generation"),
                Version = Str(r, "Version"),
                ProcessorCount = L(r, "ProcessorCount"),
                MemoryStartup = L(r, "MemoryStartup"),
                MemoryMinimum = L(r, "MemoryMinimum"),
                MemoryMaximum = L(r, "MemoryMaximum"),
                DynamicMemoryEnabled = B(r, "DynamicMemoryEnabled"),
                MemoryAssigned = running ? L(r, "MemoryStartup") : 0L,
                Uptime = running && started != null ? DateTime.UtcNow - Utc(started) : TimeSpan.Zero,
                // a local DateTime, like Hyper-V's (5.1 serializes it as \/Date(ms)\/, 7 as ISO with offset)
                CreationTime = Utc(Get(r, "CreationTime")).ToLocalTime(),
                CheckpointType = E<CheckpointType>(r, "CheckpointType"),
                Notes = Str(r, "Notes"),
                Path = Str(r, "Path"),
                ParentSnapshotId = string.IsNullOrEmpty(ps) ? (Guid?)null : new Guid(ps),
                ParentSnapshotName = string.IsNullOrEmpty(ps) ? null : parentSnapshotName,
                IsClustered = B(r, "IsClustered"),
                ComputerName = ComputerName,
            };
            // nested device objects, as on the real VirtualMachine (ConvertTo-Json's depth trap)
            var hd = new List<HardDiskDrive>();
            foreach (var d in Arr(Get(r, "HardDrives"))) hd.Add(HardDiskDrive(r, d, null));
            o.HardDrives = hd.ToArray();
            var na = new List<VMNetworkAdapter>();
            foreach (var n in Arr(Get(r, "NetworkAdapters"))) na.Add(NetworkAdapter(r, n));
            o.NetworkAdapters = na;
            return o;
        }

        /// <summary>Every record's drives (Get-VMHardDiskDrive -VM $vms / Get-VM | Get-VMHardDiskDrive).</summary>
        public static List<HardDiskDrive> HardDrives(IEnumerable records)
        {
            var l = new List<HardDiskDrive>();
            foreach (var r in records) { if (r == null) continue; foreach (var d in Arr(Get(r, "HardDrives"))) l.Add(HardDiskDrive(r, d, null)); }
            return l;
        }

        public static List<VMNetworkAdapter> NetworkAdapters(IEnumerable records, string nameLike)
        {
            var l = new List<VMNetworkAdapter>();
            var pat = string.IsNullOrEmpty(nameLike) ? null : new WildcardPattern(nameLike, WildcardOptions.IgnoreCase);
            foreach (var r in records)
            {
                if (r == null) continue;
                foreach (var n in Arr(Get(r, "NetworkAdapters"))) if (pat == null || pat.IsMatch(Str(n, "Name"))) l.Add(NetworkAdapter(r, n));
            }
            return l;
        }
    }

    /// <summary>CimInstance-shaped objects for the lab's CimCmdlets module.</summary>
    public static class Cim
    {
        public static PSObject Instance(string ns, string cls, string super, IDictionary props)
        {
            // the base object only prints like a CimInstance: Msvm_ConcreteJob (InstanceID = "...")
            var o = new PSObject(new CimInstance(cls, props));
            o.TypeNames.Clear();
            o.TypeNames.Add("Microsoft.Management.Infrastructure.CimInstance#" + ns + "/" + cls);
            o.TypeNames.Add("Microsoft.Management.Infrastructure.CimInstance#" + cls);
            o.TypeNames.Add("Microsoft.Management.Infrastructure.CimInstance#" + super);
            o.TypeNames.Add("Microsoft.Management.Infrastructure.CimInstance");
            o.TypeNames.Add("System.Object");
            var keys = new List<string>();
            var ips = new List<object>();
            foreach (DictionaryEntry de in props)
            {
                string k = de.Key.ToString();
                keys.Add(k);
                o.Properties.Add(new PSNoteProperty(k, de.Value));
                var ip = new PSObject();
                ip.Properties.Add(new PSNoteProperty("Name", k));
                ip.Properties.Add(new PSNoteProperty("Value", de.Value));
                ip.Properties.Add(new PSNoteProperty("Flags", "Property, ReadOnly, NotModified"));
                ip.Properties.Add(new PSNoteProperty("IsValueModified", false));
                ips.Add(ip);
            }
            var sys = new PSObject();
            sys.Properties.Add(new PSNoteProperty("Namespace", ns));
            sys.Properties.Add(new PSNoteProperty("ServerName", Objects.ComputerName));
            sys.Properties.Add(new PSNoteProperty("ClassName", cls));
            sys.Properties.Add(new PSNoteProperty("Path", null));
            var c = new PSObject(new CimClassInfo(ns, cls, super, keys.ToArray(), sys));
            o.Properties.Add(new PSNoteProperty("CimClass", c));
            o.Properties.Add(new PSNoteProperty("CimInstanceProperties", ips.ToArray()));
            o.Properties.Add(new PSNoteProperty("CimSystemProperties", sys));
            return o;
        }

        /// <summary>The instances of rows that pass the WQL condition (null: all).</summary>
        public static List<PSObject> Select(string ns, string cls, string super, IEnumerable rows, Wql where)
        {
            var l = new List<PSObject>();
            foreach (var r in rows) { var d = r as IDictionary; if (d != null && (where == null || where.Match(d))) l.Add(Instance(ns, cls, super, d)); }
            return l;
        }

        static readonly Dictionary<string, int> EnabledStates = new Dictionary<string, int>
        { { "Running", 2 }, { "Off", 3 }, { "Stopping", 4 }, { "Saved", 6 }, { "Paused", 9 }, { "Starting", 10 }, { "Reset", 11 },
          { "Saving", 32773 }, { "Pausing", 32776 }, { "Resuming", 32777 }, { "FastSaved", 32779 }, { "FastSaving", 32780 } };

        static System.Collections.Specialized.OrderedDictionary Row() { return new System.Collections.Specialized.OrderedDictionary(StringComparer.OrdinalIgnoreCase); }

        /// <summary>Msvm_ComputerSystem: the host, then one per VM (Name = the VM's GUID, upper case).</summary>
        public static List<IDictionary> ComputerSystems(IEnumerable vms)
        {
            var l = new List<IDictionary>();
            var h = Row();
            h["Caption"] = "Hosting Computer System"; h["Description"] = "Microsoft Hosting Computer System"; h["ElementName"] = Objects.ComputerName;
            h["Name"] = Objects.ComputerName; h["CreationClassName"] = "Msvm_ComputerSystem"; h["EnabledState"] = (ushort)2; h["HealthState"] = (ushort)5;
            h["OnTimeInMilliseconds"] = null; h["ProcessID"] = null; h["InstallDate"] = null;
            l.Add(h);
            foreach (var v in vms)
            {
                if (v == null) continue;
                string state = Objects.Get(v, "State") as string ?? "";
                bool running = state == "Running";
                string id = ((string)Objects.Get(v, "Id") ?? "").ToUpperInvariant();
                var started = Objects.Get(v, "LabStartedAt");
                int es;
                var r = Row();
                r["Caption"] = "Virtual Machine"; r["Description"] = "Microsoft Virtual Machine"; r["ElementName"] = Objects.Get(v, "Name");
                r["Name"] = id; r["CreationClassName"] = "Msvm_ComputerSystem";
                r["EnabledState"] = (ushort)(EnabledStates.TryGetValue(state, out es) ? es : 1);
                r["HealthState"] = (ushort)5;
                r["OnTimeInMilliseconds"] = running && started != null ? (ulong)(DateTime.UtcNow - Objects.Utc(started)).TotalMilliseconds : 0UL;
                r["ProcessID"] = running ? (object)(uint)(4000 + (Math.Abs(id.GetHashCode()) % 4000)) : null;
                r["InstallDate"] = Objects.Utc(Objects.Get(v, "CreationTime")).ToLocalTime();
                l.Add(r);
            }
            return l;
        }

        /// <summary>Msvm_KvpExchangeComponent: the KVP device exists while the VM runs; its
        /// GuestIntrinsicExchangeItems hold what the guest's KVP service reports (Windows integration
        /// services, Linux hv_kvp_daemon): the model's LabKvp plus the NICs' addresses; empty when the
        /// guest runs none (no LabKvp).</summary>
        public static List<IDictionary> KvpComponents(IEnumerable vms)
        {
            var l = new List<IDictionary>();
            const string dev = "2A34B1C2-FD73-4043-8A5B-DD2159BC743F";
            foreach (var v in vms)
            {
                if (v == null || (Objects.Get(v, "State") as string) != "Running") continue;
                var items = new List<string>();
                var kvp = Objects.Get(v, "LabKvp") as IDictionary;
                if (kvp != null)
                {
                    foreach (DictionaryEntry e in kvp) items.Add(KvpItemXml(e.Key.ToString(), e.Value == null ? "" : e.Value.ToString()));
                    var v4 = new List<string>(); var v6 = new List<string>();
                    foreach (var n in Objects.Arr(Objects.Get(v, "NetworkAdapters")))
                        foreach (var ip in Objects.Arr(Objects.Get(n, "LabGuestIPAddresses"))) { var a = ip.ToString(); (a.Contains(":") ? v6 : v4).Add(a); }
                    items.Add(KvpItemXml("NetworkAddressIPv4", string.Join(";", v4)));
                    items.Add(KvpItemXml("NetworkAddressIPv6", string.Join(";", v6)));
                }
                string id = ((string)Objects.Get(v, "Id") ?? "").ToUpperInvariant();
                var r = Row();
                r["Caption"] = "Key-Value Pair Exchange"; r["Description"] = "Microsoft Key-Value Pair Exchange"; r["ElementName"] = "Key-Value Pair Exchange";
                r["Name"] = id + "\\" + dev; r["CreationClassName"] = "Msvm_KvpExchangeComponent"; r["DeviceID"] = "Microsoft:" + id + "\\" + dev;
                r["EnabledState"] = (ushort)2; r["HealthState"] = (ushort)5; r["OperationalStatus"] = new ushort[] { 2 }; r["StatusDescriptions"] = new[] { "OK" };
                r["SystemCreationClassName"] = "Msvm_ComputerSystem"; r["SystemName"] = id;
                r["GuestExchangeItems"] = new string[0]; r["GuestIntrinsicExchangeItems"] = items.ToArray();
                l.Add(r);
            }
            return l;
        }

        /// <summary>One Msvm_KvpExchangeDataItem as the embedded-instance CIM-XML WMI returns in GuestIntrinsicExchangeItems.</summary>
        public static string KvpItemXml(string name, string data)
        {
            return "<INSTANCE CLASSNAME=\"Msvm_KvpExchangeDataItem\"><PROPERTY NAME=\"Caption\" PROPAGATED=\"true\" TYPE=\"string\"></PROPERTY>" +
                "<PROPERTY NAME=\"Data\" TYPE=\"string\"><VALUE>" + System.Security.SecurityElement.Escape(data ?? "") + "</VALUE></PROPERTY>" +
                "<PROPERTY NAME=\"Description\" PROPAGATED=\"true\" TYPE=\"string\"></PROPERTY><PROPERTY NAME=\"ElementName\" PROPAGATED=\"true\" TYPE=\"string\"></PROPERTY>" +
                "<PROPERTY NAME=\"Name\" TYPE=\"string\"><VALUE>" + System.Security.SecurityElement.Escape(name ?? "") + "</VALUE></PROPERTY>" +
                "<PROPERTY NAME=\"Source\" TYPE=\"uint16\"><VALUE>2</VALUE></PROPERTY></INSTANCE>";
        }
    }

    /// <summary>A WQL condition: a op b [AND|OR c op d ...] (op: = <> != < > <= >= LIKE; strings in '' or ""),
    /// evaluated left to right; string comparisons ignore case, as WMI's do.</summary>
    public sealed class Wql
    {
        sealed class Cond { public string P, Op, V, Join; }
        readonly List<Cond> conds = new List<Cond>();
        static readonly System.Text.RegularExpressions.Regex Rx = new System.Text.RegularExpressions.Regex(
            @"^\s*(?<p>\w+)\s*(?<op><>|!=|<=|>=|=|<|>|\bLIKE\b)\s*(?:'(?<s>(?:[^']|'')*)'|""(?<d>[^""]*)""|(?<n>[-\w.]+))\s*(?<j>\bAND\b|\bOR\b)?",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase);

        /// <summary>null when the text is not a condition this lab understands (the caller reports Invalid query).</summary>
        public static Wql Parse(string where)
        {
            var w = new Wql();
            string rest = where ?? "";
            while (rest.Trim().Length > 0)
            {
                var m = Rx.Match(rest);
                if (!m.Success) return null;
                string v = m.Groups["s"].Success ? m.Groups["s"].Value.Replace("''", "'") : m.Groups["d"].Success ? m.Groups["d"].Value : m.Groups["n"].Value;
                w.conds.Add(new Cond { P = m.Groups["p"].Value, Op = m.Groups["op"].Value.ToUpperInvariant(), V = v, Join = m.Groups["j"].Value.ToUpperInvariant() });
                rest = rest.Substring(m.Length);
                if (!m.Groups["j"].Success && rest.Trim().Length > 0) return null;
            }
            return w;
        }

        public bool Match(IDictionary props)
        {
            bool? result = null; string join = "";
            foreach (var c in conds)
            {
                object raw = props.Contains(c.P) ? props[c.P] : null;
                string a = raw == null ? "" : Convert.ToString(raw, CultureInfo.InvariantCulture);
                bool ok;
                switch (c.Op)
                {
                    case "=": ok = string.Equals(a, c.V, StringComparison.OrdinalIgnoreCase); break;
                    case "<>": case "!=": ok = !string.Equals(a, c.V, StringComparison.OrdinalIgnoreCase); break;
                    case "LIKE":
                        ok = new WildcardPattern(c.V.Replace("*", "[*]").Replace("?", "[?]").Replace('%', '*').Replace('_', '?'), WildcardOptions.IgnoreCase).IsMatch(a); break;
                    default:
                        double x, y;
                        ok = double.TryParse(a, NumberStyles.Any, CultureInfo.InvariantCulture, out x) && double.TryParse(c.V, NumberStyles.Any, CultureInfo.InvariantCulture, out y) &&
                             (c.Op == "<" ? x < y : c.Op == ">" ? x > y : c.Op == "<=" ? x <= y : x >= y);
                        break;
                }
                result = result == null ? ok : join == "OR" ? (result.Value || ok) : (result.Value && ok);
                join = c.Join;
            }
            return result ?? true;
        }
    }

    /// <summary>What a lab CIM instance wraps: no properties of its own (they are the PSObject's note
    /// properties), ToString like Microsoft.Management.Infrastructure.CimInstance's: the class and its keys.</summary>
    public sealed class CimInstance
    {
        readonly string text;
        // the row, for the lab's C# (PowerShell hands .NET methods this base object, not the PSObject);
        // internal, so that PowerShell's adapter shows no property of it
        internal readonly IDictionary Props;
        public CimInstance(string cls, IDictionary props)
        {
            Props = props;
            string[] keys;
            var parts = new List<string>();
            if (CimV2.Keys.TryGetValue(cls, out keys))
                foreach (var k in keys) if (props.Contains(k) && props[k] != null) parts.Add(k + " = \"" + props[k] + "\"");
            text = parts.Count == 0 ? cls : cls + " (" + string.Join(", ", parts) + ")";
        }
        public override string ToString() { return text; }
    }

    public sealed class CimClassInfo
    {
        public CimClassInfo(string ns, string cls, string super, string[] props, PSObject sys)
        { CimClassName = cls; CimSuperClassName = super; CimClassProperties = props; CimSystemProperties = sys; ns_ = ns; }
        readonly string ns_;
        public string CimClassName { get; private set; }
        public string CimSuperClassName { get; private set; }
        public object CimSuperClass { get { return null; } }
        public string[] CimClassProperties { get; private set; }
        public PSObject CimSystemProperties { get; private set; }
        public override string ToString() { return ns_ + ":" + CimClassName; }
    }
}

// The output types, with the real module's type names (Microsoft.HyperV.PowerShell.*) and the
// properties the lab fills, in the order the real objects list them where it matters for a reader.
namespace Microsoft.HyperV.PowerShell
{
    using System;
    using System.Collections.Generic;

    public class HardDiskDrive
    {
        public string Name { get; set; }
        public string Id { get; set; }
        public string Path { get; set; }
        public int? DiskNumber { get; set; }
        public ControllerType ControllerType { get; set; }
        public int ControllerNumber { get; set; }
        public int ControllerLocation { get; set; }
        public bool? SupportPersistentReservations { get; set; }
        public ulong? MaximumIOPS { get; set; } = 0;
        public ulong? MinimumIOPS { get; set; } = 0;
        public Guid? QoSPolicyID { get; set; } = Guid.Empty;
        public string PoolName { get; set; } = "Primordial";
        public string VMName { get; set; }
        public Guid VMId { get; set; }
        public Guid VMSnapshotId { get; set; }
        public string VMSnapshotName { get; set; }
        public string ComputerName { get; set; }
        public bool IsDeleted { get; set; }
    }

    public class VMNetworkAdapter
    {
        public string Name { get; set; }
        public string Id { get; set; }
        public bool IsLegacy { get; set; }
        public bool IsManagementOs { get; set; }
        public string MacAddress { get; set; }
        public bool DynamicMacAddressEnabled { get; set; }
        public string SwitchName { get; set; }
        public bool Connected { get; set; }
        public string[] IPAddresses { get; set; }
        public string[] Status { get; set; }
        public string VMName { get; set; }
        public Guid VMId { get; set; }
        public string ComputerName { get; set; }
        public VMNetworkAdapterVlanSetting VlanSetting { get; set; }
        public bool IsDeleted { get; set; }
    }

    public class VMNetworkAdapterVlanSetting
    {
        public VMNetworkAdapterVlanMode OperationMode { get; set; }
        public int AccessVlanId { get; set; }
        public int NativeVlanId { get; set; }
    }

    public class VMFirmware
    {
        public OnOffState SecureBoot { get; set; }
        public string SecureBootTemplate { get; set; }
        public Guid? SecureBootTemplateId { get; set; }
        public string PreferredNetworkBootProtocol { get; set; } = "IPv4";
        public string ConsoleMode { get; set; } = "Default";
        public OnOffState PauseAfterBootFailure { get; set; } = OnOffState.Off;
        /// <summary>boot sources are not modelled yet</summary>
        public object[] BootOrder { get; set; } = new object[0];
        public string VMName { get; set; }
        public Guid VMId { get; set; }
        public string ComputerName { get; set; }
        public bool IsDeleted { get; set; }
    }

    public class VirtualMachine
    {
        public string Name { get; set; }
        public string VMName { get { return Name; } }
        public Guid Id { get; set; }
        public Guid VMId { get { return Id; } }
        public VMState State { get; set; }
        public string Status { get; set; } = "Operating normally";
        public int CPUUsage { get; set; }
        public int Generation { get; set; }
        public string Version { get; set; }
        public long ProcessorCount { get; set; }
        public long MemoryStartup { get; set; }
        public long MemoryMinimum { get; set; }
        public long MemoryMaximum { get; set; }
        public bool DynamicMemoryEnabled { get; set; }
        public long MemoryAssigned { get; set; }
        public TimeSpan Uptime { get; set; }
        public DateTime CreationTime { get; set; }
        public CheckpointType CheckpointType { get; set; }
        public string Notes { get; set; }
        public string Path { get; set; }
        public string ConfigurationLocation { get { return Path; } }
        public string SnapshotFileLocation { get { return Path; } }
        public string SmartPagingFilePath { get { return Path; } }
        public Guid? ParentSnapshotId { get; set; }
        public string ParentSnapshotName { get; set; }
        public Guid? ParentCheckpointId { get { return ParentSnapshotId; } }
        public string ParentCheckpointName { get { return ParentSnapshotName; } }
        public bool IsClustered { get; set; }
        public string ComputerName { get; set; }
        public bool IsDeleted { get; set; }
        public HardDiskDrive[] HardDrives { get; set; }
        public List<VMNetworkAdapter> NetworkAdapters { get; set; }
    }
}
