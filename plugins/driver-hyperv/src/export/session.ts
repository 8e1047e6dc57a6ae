import { GutsError, type ExportSession, type JsonObject } from '@guts/sdk'
import { z } from 'zod'

/** One disk of an export: the files to read, leaf first, as the host named them at export time. */
const SessionDisk = z.object({ chain: z.array(z.string()).min(1), virtualSize: z.number(), format: z.enum(['vhdx', 'vpc']) })

/**
 * What beginExport persists (plain JSON, so another process can open the disks or end the export
 * after a crash): the host, and for a live export the checkpoint that froze the files — for a warm
 * sync a recovery snapshot (`recovery`), which ends as a reference point unless it is the final sync.
 */
export const SessionData = z.object({
  host: z.string(),
  disks: z.record(z.string(), SessionDisk),
  checkpoint: z
    .object({ id: z.string(), name: z.string(), recovery: z.boolean().optional(), finalSync: z.boolean().optional() })
    .optional(),
})
export type SessionData = z.infer<typeof SessionData>
export type SessionDisk = z.infer<typeof SessionDisk>

export function sessionData(session: ExportSession): SessionData {
  const r = SessionData.safeParse(session.data)
  if (!r.success) {
    throw new GutsError(
      'GUTS_STATE_ERROR',
      `The saved Hyper-V export session of ${session.vm.name} is not readable: ${r.error.issues[0]?.message}.`,
    )
  }
  return r.data
}

export function sessionJson(data: SessionData): JsonObject {
  return data as unknown as JsonObject
}

/** One disk of a session, with the name messages use; a disk the export does not have is GUTS_NOT_FOUND. */
export function sessionDisk(session: ExportSession, diskId: string): { data: SessionData; disk: SessionDisk; what: string } {
  const data = sessionData(session)
  const disk = data.disks[diskId]
  const what = `${session.vm.name} disk ${diskId}`
  if (!disk) throw new GutsError('GUTS_NOT_FOUND', `Disk ${diskId} of ${session.vm.name} is not in the export.`, { ref: what })
  return { data, disk, what }
}
