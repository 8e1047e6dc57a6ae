// guts Hyper-V lab: the root/virtualization/v2 classes of recovery snapshots and reference points
// (Msvm_VirtualSystemSnapshotService, Msvm_VirtualSystemReferencePointService,
// Msvm_VirtualSystemSettingData, Msvm_VirtualSystemReferencePoint), their associations, and the
// embedded-instance (CIM-XML) parameters; jobs are in HyperV.CimJobs.cs.  Rows are ordered
// dictionaries, turned into CimInstance-shaped objects by Cim.Instance (HyperV.Objects.cs).
// Property names and values from Microsoft's Hyper-V WMI v2 reference; see LAB-NOTES.md.
// (Appended to HyperV.Types.ps1's source: using directives inside the namespace.)
namespace GutsLab
{
    using System;
    using System.Collections;
    using System.Collections.Generic;
    using System.Collections.Specialized;
    using System.Globalization;
    using System.Xml;

    public static class CimV2
    {
        public const string Ns = "root/virtualization/v2";

        /// <summary>Key properties per class (how -InputObject finds an instance again, and how it prints).</summary>
        public static readonly Dictionary<string, string[]> Keys = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase)
        {
            { "Msvm_ComputerSystem", new[] { "CreationClassName", "Name" } },
            { "Msvm_KvpExchangeComponent", new[] { "CreationClassName", "DeviceID", "SystemCreationClassName", "SystemName" } },
            { "Msvm_VirtualSystemSnapshotService", new[] { "CreationClassName", "Name", "SystemCreationClassName", "SystemName" } },
            { "Msvm_VirtualSystemReferencePointService", new[] { "CreationClassName", "Name", "SystemCreationClassName", "SystemName" } },
            { "Msvm_VirtualSystemSettingData", new[] { "InstanceID" } },
            { "Msvm_VirtualSystemReferencePoint", new[] { "InstanceID" } },
            { "Msvm_ConcreteJob", new[] { "InstanceID" } },
            { "Win32_OperatingSystem", new[] { "Name" } },
        };

        static OrderedDictionary Row() { return new OrderedDictionary(StringComparer.OrdinalIgnoreCase); }
        static string S(object r, string n) { var v = Objects.Get(r, n); return v == null ? null : v.ToString(); }

        static OrderedDictionary Service(string cls, string caption, string description, string name)
        {
            var r = Row();
            r["Caption"] = caption; r["Description"] = description; r["ElementName"] = caption; r["InstallDate"] = null;
            r["Name"] = name; r["OperationalStatus"] = new ushort[] { 2 }; r["StatusDescriptions"] = new[] { "The service is running normally" };
            r["Status"] = null; r["HealthState"] = (ushort)5; r["EnabledState"] = (ushort)2; r["RequestedState"] = (ushort)12;
            r["EnabledDefault"] = (ushort)2; r["SystemCreationClassName"] = "Msvm_ComputerSystem"; r["SystemName"] = Objects.ComputerName;
            r["CreationClassName"] = cls; r["PrimaryOwnerName"] = null; r["StartMode"] = null; r["Started"] = true;
            return r;
        }

        public static List<IDictionary> SnapshotService()
        {
            return new List<IDictionary> { Service("Msvm_VirtualSystemSnapshotService", "Hyper-V Virtual System Snapshot Service",
                "Service for creating, destroying, and applying virtual machine snapshots", "vssnapsvc") };
        }

        /// <summary>The reference point service (its Name is the lab's: the documentation gives none).</summary>
        public static List<IDictionary> ReferencePointService()
        {
            return new List<IDictionary> { Service("Msvm_VirtualSystemReferencePointService", "Hyper-V Virtual System Reference Point Service",
                "Service for creating, destroying, and exporting virtual system reference points", "vsrpsvc") };
        }

        /// <summary>"Microsoft:<guid>" of a checkpoint, lower case as [guid].ToString() writes it.</summary>
        public static string SnapshotInstanceId(string snapshotId) { return "Microsoft:" + new Guid(snapshotId).ToString(); }

        public static string SettingDataPath(string instanceId)
        {
            return "\\\\" + Objects.ComputerName + "\\root\\virtualization\\v2:Msvm_VirtualSystemSettingData.InstanceID=\"" + instanceId + "\"";
        }

        /// <summary>A VM's realized settings (snapshot null) or one of its checkpoints.</summary>
        public static IDictionary SettingData(object vm, object sn)
        {
            string vmId = (S(vm, "Id") ?? "").ToUpperInvariant();
            var r = Row();
            bool recovery = sn != null && string.Equals(S(sn, "SnapshotType"), "Recovery", StringComparison.OrdinalIgnoreCase);
            r["InstanceID"] = sn == null ? "Microsoft:" + vmId : SnapshotInstanceId(S(sn, "Id"));
            r["Caption"] = sn == null ? "Virtual Machine Settings" : "Snapshot";
            r["Description"] = sn == null ? "Active settings for the virtual machine." : "Snapshot settings for the virtual machine.";
            r["ElementName"] = sn == null ? S(vm, "Name") : S(sn, "Name");
            r["VirtualSystemIdentifier"] = vmId;
            r["VirtualSystemType"] = sn == null ? "Microsoft:Hyper-V:System:Realized" : recovery ? "Microsoft:Hyper-V:Snapshot:Recovery" : "Microsoft:Hyper-V:Snapshot:Realized";
            r["VirtualSystemSubType"] = "Microsoft:Hyper-V:SubType:" + (S(vm, "Generation") ?? "2");
            r["Version"] = S(vm, "Version");
            r["ConfigurationID"] = sn == null ? vmId : (S(sn, "Id") ?? "").ToUpperInvariant();
            r["CreationTime"] = Objects.Utc(Objects.Get(sn ?? vm, "CreationTime")).ToLocalTime();
            r["Notes"] = new[] { S(sn ?? vm, "Notes") ?? "" };
            r["ConfigurationDataRoot"] = S(vm, "Path"); r["SnapshotDataRoot"] = S(vm, "Path");
            string parent = sn == null ? S(vm, "ParentSnapshotId") : S(sn, "ParentSnapshotId");
            r["Parent"] = string.IsNullOrEmpty(parent) ? null : SettingDataPath(SnapshotInstanceId(parent));
            r["IsSaved"] = sn != null && S(sn, "State") == "Saved";
            return r;
        }

        public static List<IDictionary> SettingDatas(IEnumerable vms)
        {
            var l = new List<IDictionary>();
            foreach (var v in vms)
            {
                if (v == null) continue;
                l.Add(SettingData(v, null));
                foreach (var sn in Objects.Arr(Objects.Get(v, "Snapshots"))) if (sn != null) l.Add(SettingData(v, sn));
            }
            return l;
        }

        public static IDictionary ReferencePoint(object vm, object rp)
        {
            var r = Row();
            r["Caption"] = "Virtual System Reference Point"; r["Description"] = "A reference point of the virtual system"; r["ElementName"] = "";
            r["InstanceID"] = S(rp, "InstanceID");
            r["ReferencePointType"] = (ushort)2;   // RCT based
            r["ConsistencyLevel"] = (ushort)Convert.ToUInt16(Objects.Get(rp, "ConsistencyLevel") ?? 2, CultureInfo.InvariantCulture);
            r["VirtualSystemIdentifier"] = (S(vm, "Id") ?? "").ToUpperInvariant();
            r["HasAssociatedData"] = false;        // only log-based reference points have associated data
            r["VirtualDiskIdentifiers"] = Strings(Objects.Get(rp, "VirtualDiskIdentifiers"));
            r["ResilientChangeTrackingIdentifiers"] = Strings(Objects.Get(rp, "ResilientChangeTrackingIdentifiers"));
            return r;
        }

        public static List<IDictionary> ReferencePoints(IEnumerable vms)
        {
            var l = new List<IDictionary>();
            foreach (var v in vms) { if (v == null) continue; foreach (var rp in Objects.Arr(Objects.Get(v, "LabReferencePoints"))) if (rp != null) l.Add(ReferencePoint(v, rp)); }
            return l;
        }

        static string[] Strings(object v) { var l = new List<string>(); foreach (var x in Objects.Arr(v)) if (x != null) l.Add(x.ToString()); return l.ToArray(); }

        /// <summary>Msvm_VirtualSystemSnapshotSettingData, the SnapshotSettings embedded instance: ConsistencyLevel
        /// (uint8: 1 application, 2 crash), GuestBackupType (uint8), IgnoreNonSnapshottableDisks (boolean).
        /// "" or null = the defaults; anything that is not such an instance: null (the method's Invalid parameter).</summary>
        public static IDictionary ParseSnapshotSettings(string xml)
        {
            var r = Row();
            r["ConsistencyLevel"] = (byte)1; r["GuestBackupType"] = (byte)0; r["IgnoreNonSnapshottableDisks"] = false;
            if (string.IsNullOrWhiteSpace(xml)) return r;
            var types = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            { { "ConsistencyLevel", "uint8" }, { "GuestBackupType", "uint8" }, { "IgnoreNonSnapshottableDisks", "boolean" },
              { "Caption", "string" }, { "Description", "string" }, { "ElementName", "string" }, { "InstanceID", "string" } };
            var props = ParseEmbedded(xml, "Msvm_VirtualSystemSnapshotSettingData", types);
            if (props == null) return null;
            foreach (DictionaryEntry e in props) r[e.Key] = e.Value;
            return r;
        }

        /// <summary>A CIM-XML INSTANCE of <paramref name="className"/> whose PROPERTY elements are among
        /// <paramref name="types"/> with the declared TYPE: the values converted; null when malformed.</summary>
        public static IDictionary ParseEmbedded(string xml, string className, Dictionary<string, string> types)
        {
            var doc = new XmlDocument();
            try { doc.LoadXml(xml); } catch (XmlException) { return null; }
            var root = doc.DocumentElement;
            if (root == null || root.Name != "INSTANCE" || !string.Equals(root.GetAttribute("CLASSNAME"), className, StringComparison.OrdinalIgnoreCase)) return null;
            var r = Row();
            foreach (XmlNode n in root.ChildNodes)
            {
                if (n.NodeType != XmlNodeType.Element) continue;
                var el = (XmlElement)n;
                if (el.Name == "QUALIFIER") continue;
                if (el.Name != "PROPERTY") return null;
                string name = el.GetAttribute("NAME"), type = el.GetAttribute("TYPE");
                string want;
                if (!types.TryGetValue(name, out want) || !string.Equals(type, want, StringComparison.OrdinalIgnoreCase)) return null;
                var value = el.SelectSingleNode("VALUE");
                if (value == null) { r[name] = null; continue; }
                string text = value.InnerText;
                try
                {
                    switch (want)
                    {
                        case "uint8": r[name] = byte.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture); break;
                        case "uint16": r[name] = ushort.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture); break;
                        case "boolean":
                            if (!string.Equals(text, "true", StringComparison.OrdinalIgnoreCase) && !string.Equals(text, "false", StringComparison.OrdinalIgnoreCase)) return null;
                            r[name] = string.Equals(text, "true", StringComparison.OrdinalIgnoreCase); break;
                        default: r[name] = text; break;
                    }
                }
                catch (FormatException) { return null; }
                catch (OverflowException) { return null; }
            }
            return r;
        }

        /// <summary>Does <paramref name="row"/> of class <paramref name="cls"/> carry the keys of <paramref name="want"/>?</summary>
        public static bool SameKeys(string cls, IDictionary row, object want)
        {
            string[] keys;
            if (!Keys.TryGetValue(cls, out keys)) return false;
            foreach (var k in keys)
                if (!string.Equals(S(row, k) ?? "", S(want, k) ?? "", StringComparison.OrdinalIgnoreCase)) return false;
            return true;
        }

        /// <summary>The instances associated with (cls, row) through an association class (null: all of them):
        /// Msvm_SnapshotOfVirtualSystem (a VM's checkpoints), Msvm_ReferencePointOfVirtualSystem (its reference
        /// points), Msvm_SettingsDefineState (its realized settings), Msvm_AffectedJobElement (a job and what it
        /// made or changed).  Each result is (class, row).</summary>
        public static List<KeyValuePair<string, IDictionary>> Associated(IEnumerable vms, string modelPath, string cls, IDictionary row, string assoc)
        {
            var l = new List<KeyValuePair<string, IDictionary>>();
            Func<string, bool> via = a => string.IsNullOrEmpty(assoc) || string.Equals(assoc, a, StringComparison.OrdinalIgnoreCase);
            var all = new List<object>(); foreach (var v in vms) if (v != null) all.Add(v);
            if (cls.Equals("Msvm_ComputerSystem", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var v in all)
                {
                    if (!string.Equals(S(v, "Id"), S(row, "Name"), StringComparison.OrdinalIgnoreCase)) continue;
                    if (via("Msvm_SettingsDefineState")) l.Add(Pair("Msvm_VirtualSystemSettingData", SettingData(v, null)));
                    if (via("Msvm_SnapshotOfVirtualSystem"))
                        foreach (var sn in Objects.Arr(Objects.Get(v, "Snapshots"))) if (sn != null) l.Add(Pair("Msvm_VirtualSystemSettingData", SettingData(v, sn)));
                    if (via("Msvm_ReferencePointOfVirtualSystem"))
                        foreach (var rp in Objects.Arr(Objects.Get(v, "LabReferencePoints"))) if (rp != null) l.Add(Pair("Msvm_VirtualSystemReferencePoint", ReferencePoint(v, rp)));
                }
            }
            else if (cls.Equals("Msvm_VirtualSystemSettingData", StringComparison.OrdinalIgnoreCase) || cls.Equals("Msvm_VirtualSystemReferencePoint", StringComparison.OrdinalIgnoreCase))
            {
                bool rpClass = cls.Equals("Msvm_VirtualSystemReferencePoint", StringComparison.OrdinalIgnoreCase);
                string a = rpClass ? "Msvm_ReferencePointOfVirtualSystem" : S(row, "VirtualSystemType") == "Microsoft:Hyper-V:System:Realized" ? "Msvm_SettingsDefineState" : "Msvm_SnapshotOfVirtualSystem";
                if (via(a))
                    foreach (var cs in Cim.ComputerSystems(all))
                        if (string.Equals(S(cs, "Name"), S(row, "VirtualSystemIdentifier"), StringComparison.OrdinalIgnoreCase)) l.Add(Pair("Msvm_ComputerSystem", cs));
            }
            if (via("Msvm_AffectedJobElement")) l.AddRange(CimJobs.AffectedOrAffecting(all, modelPath, cls, row));
            return l;
        }

        static KeyValuePair<string, IDictionary> Pair(string c, IDictionary r) { return new KeyValuePair<string, IDictionary>(c, r); }
    }
}
