import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2'
import { abortedError, GutsError, networkError, type Logger } from '@guts/sdk'
import { checkHostKey, hostKeyError, type HostKeyPolicy } from './host-key.js'

export interface SshSettings {
  host: string
  port: number
  username: string
  /** Resolved secrets: never logged, never on a command line. */
  password?: string
  privateKey?: Buffer
  passphrase?: string
  hostKeys: HostKeyPolicy
  keepaliveIntervalMs: number
  readyTimeoutMs: number
}

export interface ExecResult {
  code: number | null
  signal?: string
  stdout: Buffer
  stderr: Buffer
}

/**
 * One SSH connection to a Hyper-V host, shared by every call of a driver instance: commands run
 * on channels of their own (several at once), SFTP on one more. Reconnects on the next call after
 * the connection dropped. The host key is checked before authentication: an unknown or changed
 * key fails the connection and nothing is sent.
 */
export class SshConnection {
  private client: Client | undefined
  private ready: Promise<Client> | undefined
  private sftpReady: Promise<SFTPWrapper> | undefined
  private hostKeyFailure: GutsError | undefined

  constructor(
    private readonly settings: SshSettings,
    private readonly log: Logger,
  ) {}

  get endpoint(): string {
    return `${this.settings.host}:${this.settings.port}`
  }

  /** Connects (once; again after a drop). GUTS_AUTH_FAILED for keys and credentials, GUTS_UNREACHABLE otherwise. */
  connect(signal?: AbortSignal): Promise<Client> {
    if (signal?.aborted) return Promise.reject(abortedError(signal))
    this.ready ??= this.open().catch((e: unknown) => {
      this.reset()
      throw e
    })
    return raceAbort(this.ready, signal)
  }

  /** Runs one command line on its own channel; stdin (if any) is written and closed. */
  async exec(command: string, options: { signal?: AbortSignal; stdin?: Buffer } = {}): Promise<ExecResult> {
    const client = await this.connect(options.signal)
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      client.exec(command, (err, ch) => (err ? reject(this.channelError(err)) : resolve(ch)))
    })
    return collect(channel, options, () => this.channelError(new Error('the SSH connection closed during the command')))
  }

  /** The SFTP session of this connection (opened once, on demand). */
  sftp(signal?: AbortSignal): Promise<SFTPWrapper> {
    this.sftpReady ??= this.openSftp(signal)
    return raceAbort(this.sftpReady, signal)
  }

  /** A new SFTP session; forgotten when it closes or fails, so the next call opens another. */
  private openSftp(signal?: AbortSignal): Promise<SFTPWrapper> {
    const ready = this.connect(signal).then(
      (client) =>
        new Promise<SFTPWrapper>((resolve, reject) => {
          client.sftp((err, sftp) => {
            if (err) return reject(this.channelError(err))
            sftp.on('close', () => {
              if (this.sftpReady === ready) this.sftpReady = undefined
            })
            resolve(sftp)
          })
        }),
    )
    ready.catch(() => {
      if (this.sftpReady === ready) this.sftpReady = undefined
    })
    return ready
  }

  async close(): Promise<void> {
    const client = this.client
    this.reset()
    client?.end()
  }

  private reset(): void {
    this.client = undefined
    this.ready = undefined
    this.sftpReady = undefined
  }

  private open(): Promise<Client> {
    const s = this.settings
    this.hostKeyFailure = undefined
    const client = new Client()
    const config: ConnectConfig = {
      host: s.host,
      port: s.port,
      username: s.username,
      keepaliveInterval: s.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      readyTimeout: s.readyTimeoutMs,
      hostVerifier: (key: Buffer) => {
        const verdict = checkHostKey(s.hostKeys, s.host, s.port, key)
        if (verdict === 'trusted') return true
        this.hostKeyFailure = hostKeyError(verdict, s.host, s.port, key)
        return false
      },
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(s.privateKey ? { privateKey: s.privateKey } : {}),
      ...(s.passphrase !== undefined ? { passphrase: s.passphrase } : {}),
    }
    return new Promise<Client>((resolve, reject) => {
      let settled = false
      client.once('ready', () => {
        settled = true
        // Many small SFTP READ requests in flight: with Nagle's algorithm on they wait for ACKs
        // (measured 0.6× OpenSSH's sftp; with TCP_NODELAY 1.0×).
        client.setNoDelay(true)
        this.client = client
        this.log.debug('SSH connected', { endpoint: this.endpoint })
        resolve(client)
      })
      client.on('error', (err: Error & { level?: string }) => {
        if (!settled) {
          settled = true
          return reject(this.connectError(err))
        }
        this.log.warn('SSH connection error', { endpoint: this.endpoint, error: err.message })
      })
      client.on('close', () => {
        if (this.client === client) this.reset()
        if (!settled) {
          settled = true
          reject(this.connectError(new Error('the server closed the connection')))
        }
      })
      try {
        client.connect(config)
      } catch (e) {
        settled = true
        reject(new GutsError('GUTS_CONFIG_INVALID', `Cannot connect to ${this.endpoint}: ${(e as Error).message}`, { cause: e }))
      }
    })
  }

  private connectError(err: Error & { level?: string }): GutsError {
    if (this.hostKeyFailure) return this.hostKeyFailure
    if (err.level === 'client-authentication') {
      return new GutsError(
        'GUTS_AUTH_FAILED',
        `The Hyper-V host ${this.endpoint} refused the login of ${this.settings.username} (${this.authMethods()}).`,
        {
          cause: err,
          suggestions: [
            'Check the user name and the password or private key of the source.',
            'For key logins of administrators, Windows OpenSSH reads C:\\ProgramData\\ssh\\administrators_authorized_keys (its ACL must allow only Administrators and SYSTEM).',
          ],
        },
      )
    }
    if (err.level === 'client-timeout') {
      return new GutsError('GUTS_UNREACHABLE', `The Hyper-V host ${this.endpoint} did not finish the SSH handshake in time.`, {
        cause: err,
        retryable: true,
        suggestions: ['Check that OpenSSH Server (sshd) runs on the host and that nothing in between holds the connection.'],
      })
    }
    if (err.level === 'protocol' || err.level === 'handshake') {
      return new GutsError('GUTS_UNREACHABLE', `SSH with ${this.endpoint} failed: ${err.message}`, {
        cause: err,
        suggestions: ['Check that the port is the host’s OpenSSH server and that it offers a modern key exchange and cipher.'],
      })
    }
    return networkError(err, { what: 'the Hyper-V host (SSH)', endpoint: this.endpoint })
  }

  private channelError(err: Error): GutsError {
    return new GutsError('GUTS_UNREACHABLE', `The SSH connection to ${this.endpoint} failed: ${err.message}`, {
      cause: err,
      retryable: true,
    })
  }

  private authMethods(): string {
    const m = [this.settings.privateKey ? 'public key' : '', this.settings.password !== undefined ? 'password' : ''].filter(Boolean)
    return m.length ? `tried ${m.join(' and ')}` : 'no credentials were given'
  }
}

/** Reads a channel to its end: stdout, stderr and the exit status; a signal closes the channel. */
function collect(channel: ClientChannel, o: { signal?: AbortSignal; stdin?: Buffer }, dropped: () => GutsError): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    const out: Buffer[] = []
    const err: Buffer[] = []
    let code: number | null = null
    let sig: string | undefined
    let exited = false
    const onAbort = () => {
      channel.close()
      reject(abortedError(o.signal))
    }
    o.signal?.addEventListener('abort', onAbort, { once: true })
    channel.on('data', (b: Buffer) => out.push(b))
    channel.stderr.on('data', (b: Buffer) => err.push(b))
    channel.on('exit', (c: number | null, s?: string) => {
      exited = true
      code = c
      if (s) sig = s
    })
    channel.on('close', () => {
      o.signal?.removeEventListener('abort', onAbort)
      if (o.signal?.aborted) return
      if (!exited) return reject(dropped())
      resolve({ code, ...(sig ? { signal: sig } : {}), stdout: Buffer.concat(out), stderr: Buffer.concat(err) })
    })
    if (o.stdin) channel.end(o.stdin)
    else channel.end()
  })
}

function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p
  if (signal.aborted) return Promise.reject(abortedError(signal))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}
