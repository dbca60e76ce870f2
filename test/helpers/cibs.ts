import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './daemon.js';

function xmlAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

/**
 * A two-node modern CIB: group grp = [app (ocf:heartbeat:anything), watch (procdctl, proc_app =
 * prefix)], preferring node1, migration-threshold=1. crm_simulate brings both nodes up and
 * starts the group on node1, so the file has the status section of a running cluster.
 */
export function twoNodeCib(dir: string, prefix: string, extraWatchNvpairs = ''): string {
  const input = join(dir, 'in.xml');
  const out = join(dir, 'cib.xml');
  writeFileSync(
    input,
    `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="node1"/>
      <node id="2" uname="node2"/>
    </nodes>
    <resources>
      <group id="grp">
        <primitive id="app" class="ocf" provider="heartbeat" type="anything">
          <instance_attributes id="app-ia">
            <nvpair id="app-bin" name="binfile" value="/bin/sleep"/>
          </instance_attributes>
        </primitive>
        <primitive id="watch" class="ocf" provider="heartbeat" type="procdctl">
          <instance_attributes id="watch-ia">
            <nvpair id="watch-app" name="proc_app" value="${xmlAttr(prefix)}"/>${extraWatchNvpairs}
          </instance_attributes>
        </primitive>
      </group>
    </resources>
    <constraints>
      <rsc_location id="prefer-node1" rsc="grp" node="node1" score="100"/>
    </constraints>
    <rsc_defaults>
      <meta_attributes id="rsc-defaults">
        <nvpair id="rsc-defaults-mt" name="migration-threshold" value="1"/>
      </meta_attributes>
    </rsc_defaults>
  </configuration>
  <status/>
</cib>
`,
  );
  const r = sh('crm_simulate', ['-x', input, '-u', 'node1', '-u', 'node2', '-S', '-O', out]);
  if (r.code !== 0) throw new Error(`crm_simulate could not start the test cluster: ${r.out}`);
  if (!/Start\s+watch\s+\( node1 \)/.test(r.out)) throw new Error(`unexpected crm_simulate plan:\n${r.out}`);
  readFileSync(out); // exists
  return out;
}

/** `CIB_file=F crm_failcount -G -r R -N N` → the number (0 when none). */
export function crmFailcount(file: string, resource: string, node: string): number {
  const r = sh('crm_failcount', ['-G', '-q', '-r', resource, '-N', node], { CIB_file: file });
  if (r.code !== 0) throw new Error(`crm_failcount failed: ${r.out}`);
  const v = r.stdout.trim();
  return v === '' ? 0 : Number(v.replace(/^.*value=/, ''));
}

/** crm_simulate's transition summary lines for the file. */
export function crmSimulatePlan(file: string): string {
  const r = sh('crm_simulate', ['-x', file, '-S']);
  if (r.code !== 0) throw new Error(`crm_simulate failed: ${r.out}`);
  const m = /Transition Summary:\n([\s\S]*?)\n\s*\n?Executing/.exec(r.out);
  return m ? m[1]!.trim() : '';
}
