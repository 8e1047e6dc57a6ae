/** The error a promise rejects with (fails the test when it resolves), for asserting codes and messages. */
export async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p
  } catch (error) {
    return error as { code?: string; message: string }
  }
  throw new Error('expected a rejection')
}
