import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isGutsError, type Finding } from '@guts/sdk'
import { qemuImgCheck, qemuImgInfo } from '../../tools/qemu-img.js'
import { MANIFEST, type LocalSessionData } from './manifest.js'

/** Checks what boot left behind: the manifest, every disk file, its size and (qcow2) its consistency. */
export async function verifyLocal(data: LocalSessionData, vmName: string, signal?: AbortSignal): Promise<Finding[]> {
  const findings: Finding[] = []
  const manifestPath = join(data.vmDir, MANIFEST)
  try {
    JSON.parse(await readFile(manifestPath, 'utf8'))
  } catch (error) {
    findings.push({
      severity: 'error',
      code: 'manifest-missing',
      message: `${manifestPath} is missing or not valid JSON (${(error as Error).message}).`,
      ref: vmName,
    })
  }
  for (const disk of data.disks) {
    const ref = `${vmName}/${disk.id}`
    if (
      !(await stat(disk.path).then(
        (s) => s.isFile(),
        () => false,
      ))
    ) {
      findings.push({ severity: 'error', code: 'disk-missing', message: `The disk file ${disk.path} does not exist.`, ref })
      continue
    }
    try {
      const info = await qemuImgInfo(disk.path, { format: data.format, ...(signal ? { signal } : {}) })
      if (info.virtualSize !== disk.sourceVirtualSize) {
        findings.push({
          severity: 'error',
          code: 'disk-size-mismatch',
          message: `${disk.path} is ${info.virtualSize} bytes, the source disk ${disk.sourceVirtualSize}.`,
          ref,
        })
      }
      if (data.format === 'qcow2') {
        const check = await qemuImgCheck(disk.path, 'qcow2', signal)
        if (!check.ok)
          findings.push({
            severity: 'error',
            code: 'disk-corrupt',
            message: `qemu-img check found ${check.corruptions} corruption(s) in ${disk.path}.`,
            ref,
          })
        else if (check.leaks)
          findings.push({
            severity: 'info',
            code: 'disk-leaks',
            message: `${disk.path} has ${check.leaks} leaked cluster(s): wasted space only.`,
            ref,
          })
      }
    } catch (error) {
      if (isGutsError(error) && (error.code === 'GUTS_ABORTED' || error.code === 'GUTS_TOOL_MISSING')) throw error
      findings.push({
        severity: 'error',
        code: 'disk-unreadable',
        message: `qemu-img cannot read ${disk.path}: ${(error as Error).message}`,
        ref,
      })
    }
  }
  return findings
}
