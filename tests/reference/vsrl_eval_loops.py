"""Python 3 transcription of V-COCO's evaluation, as TIN runs it.

Source: TIN master ``lib/ult/vsrl_eval_output_txt.py`` (a copy of s-gupta/v-coco ``vsrl_eval.py`` whose only
changes are a text dump, the "omitting point" line and an ``np.sort`` in the split assert).

This file is the *independent reference* for ``tests/test_vcoco_eval.py``: it shares no code with ``tin_jax``
and keeps the original's loops, statement order and dtypes. Changes, none of them semantic:

* ``pycocotools.coco.COCO`` -> :class:`MiniCOCO`, which implements the five calls the evaluation makes with
  pycocotools' behaviour (annotations per image in file order, ``iscrowd=None`` keeps crowds).
* ``np.bool`` -> ``bool`` (removed in NumPy 1.24); ``role_id[i, j - 1] = aid`` -> ``aid[0]`` (storing a
  size-1 array into a scalar slot is deprecated since NumPy 1.25).
* ``_do_agent_eval`` / ``_do_role_eval`` return ``(ap, npos)`` instead of printing the table (prints and the
  text file are dropped).
"""

import copy
import json
import pickle

import numpy as np


class MiniCOCO(object):
    """The parts of ``pycocotools.coco.COCO`` that ``VCOCOeval`` uses."""

    def __init__(self, annotation_file):
        with open(annotation_file, 'r') as f:
            self.dataset = json.load(f)
        self.anns, self.imgs, self.cats = {}, {}, {}
        self.imgToAnns = {}
        for ann in self.dataset['annotations']:
            self.imgToAnns.setdefault(ann['image_id'], []).append(ann)
            self.anns[ann['id']] = ann
        for img in self.dataset['images']:
            self.imgs[img['id']] = img
        for cat in self.dataset['categories']:
            self.cats[cat['id']] = cat

    def getAnnIds(self, imgIds=[], catIds=[], areaRng=[], iscrowd=None):
        imgIds = imgIds if isinstance(imgIds, (list, np.ndarray)) else [imgIds]
        lists = [self.imgToAnns[i] for i in imgIds if i in self.imgToAnns]
        anns = [a for l in lists for a in l]
        if iscrowd is not None:
            return [a['id'] for a in anns if a['iscrowd'] == iscrowd]
        return [a['id'] for a in anns]

    def loadAnns(self, ids=[]):
        return [self.anns[i] for i in ids]

    def loadImgs(self, ids=[]):
        return [self.imgs[i] for i in ids]

    def getCatIds(self):
        return [c['id'] for c in self.dataset['categories']]

    def loadCats(self, ids=[]):
        return [self.cats[i] for i in ids]


class VCOCOeval(object):

  def __init__(self, vsrl_annot_file, coco_annot_file, split_file):
    self.COCO = MiniCOCO(coco_annot_file)
    self.VCOCO = _load_vcoco(vsrl_annot_file)
    self.image_ids = np.loadtxt(open(split_file, 'r'))
    # simple check
    assert np.all(np.equal(np.sort(np.unique(self.VCOCO[0]['image_id'])), np.sort(self.image_ids)))

    self._init_coco()
    self._init_vcoco()

  def _init_vcoco(self):
    actions = [x['action_name'] for x in self.VCOCO]
    roles = [x['role_name'] for x in self.VCOCO]
    self.actions = actions
    self.actions_to_id_map = {v: i for i, v in enumerate(self.actions)}
    self.num_actions = len(self.actions)
    self.roles = roles

  def _init_coco(self):
    category_ids = self.COCO.getCatIds()
    categories = [c['name'] for c in self.COCO.loadCats(category_ids)]
    self.category_to_id_map = dict(zip(categories, category_ids))
    self.classes = ['__background__'] + categories
    self.num_classes = len(self.classes)
    self.json_category_id_to_contiguous_id = {
        v: i + 1 for i, v in enumerate(self.COCO.getCatIds())}
    self.contiguous_category_id_to_json_id = {
        v: k for k, v in self.json_category_id_to_contiguous_id.items()}

  def _get_vcocodb(self):
    vcocodb = copy.deepcopy(self.COCO.loadImgs(self.image_ids.tolist()))
    for entry in vcocodb:
      self._prep_vcocodb_entry(entry)
      self._add_gt_annotations(entry)
    return vcocodb

  def _prep_vcocodb_entry(self, entry):
    entry['boxes'] = np.empty((0, 4), dtype=np.float32)
    entry['is_crowd'] = np.empty((0), dtype=bool)
    entry['gt_classes'] = np.empty((0), dtype=np.int32)
    entry['gt_actions'] = np.empty((0, self.num_actions), dtype=np.int32)
    entry['gt_role_id'] = np.empty((0, self.num_actions, 2), dtype=np.int32)

  def _add_gt_annotations(self, entry):
    ann_ids = self.COCO.getAnnIds(imgIds=entry['id'], iscrowd=None)
    objs = self.COCO.loadAnns(ann_ids)
    # Sanitize bboxes -- some are invalid
    valid_objs = []
    valid_ann_ids = []
    width = entry['width']
    height = entry['height']
    for i, obj in enumerate(objs):
      if 'ignore' in obj and obj['ignore'] == 1:
          continue
      # Convert form x1, y1, w, h to x1, y1, x2, y2
      x1 = obj['bbox'][0]
      y1 = obj['bbox'][1]
      x2 = x1 + np.maximum(0., obj['bbox'][2] - 1.)
      y2 = y1 + np.maximum(0., obj['bbox'][3] - 1.)
      x1, y1, x2, y2 = clip_xyxy_to_image(
          x1, y1, x2, y2, height, width)
      # Require non-zero seg area and more than 1x1 box size
      if obj['area'] > 0 and x2 > x1 and y2 > y1:
        obj['clean_bbox'] = [x1, y1, x2, y2]
        valid_objs.append(obj)
        valid_ann_ids.append(ann_ids[i])
    num_valid_objs = len(valid_objs)
    assert num_valid_objs == len(valid_ann_ids)

    boxes = np.zeros((num_valid_objs, 4), dtype=entry['boxes'].dtype)
    is_crowd = np.zeros((num_valid_objs), dtype=entry['is_crowd'].dtype)
    gt_classes = np.zeros((num_valid_objs), dtype=entry['gt_classes'].dtype)
    gt_actions = -np.ones((num_valid_objs, self.num_actions), dtype=entry['gt_actions'].dtype)
    gt_role_id = -np.ones((num_valid_objs, self.num_actions, 2), dtype=entry['gt_role_id'].dtype)

    for ix, obj in enumerate(valid_objs):
      cls = self.json_category_id_to_contiguous_id[obj['category_id']]
      boxes[ix, :] = obj['clean_bbox']
      gt_classes[ix] = cls
      is_crowd[ix] = obj['iscrowd']

      gt_actions[ix, :], gt_role_id[ix, :, :] = \
        self._get_vsrl_data(valid_ann_ids[ix],
            valid_ann_ids, valid_objs)

    entry['boxes'] = np.append(entry['boxes'], boxes, axis=0)
    entry['gt_classes'] = np.append(entry['gt_classes'], gt_classes)
    entry['is_crowd'] = np.append(entry['is_crowd'], is_crowd)
    entry['gt_actions'] = np.append(entry['gt_actions'], gt_actions, axis=0)
    entry['gt_role_id'] = np.append(entry['gt_role_id'], gt_role_id, axis=0)

  def _get_vsrl_data(self, ann_id, ann_ids, objs):
    """ Get VSRL data for ann_id."""
    action_id = -np.ones((self.num_actions), dtype=np.int32)
    role_id = -np.ones((self.num_actions, 2), dtype=np.int32)
    # check if ann_id in vcoco annotations
    in_vcoco = np.where(self.VCOCO[0]['ann_id'] == ann_id)[0]
    if in_vcoco.size > 0:
      action_id[:] = 0
      role_id[:] = -1
    else:
      return action_id, role_id
    for i, x in enumerate(self.VCOCO):
      assert x['action_name'] == self.actions[i]
      has_label = np.where(np.logical_and(x['ann_id'] == ann_id, x['label'] == 1))[0]
      if has_label.size > 0:
        action_id[i] = 1
        assert has_label.size == 1
        rids = x['role_object_id'][has_label]
        assert rids[0, 0] == ann_id
        for j in range(1, rids.shape[1]):
          if rids[0, j] == 0:
            # no role
            continue
          aid = np.where(ann_ids == rids[0, j])[0]
          assert aid.size > 0
          role_id[i, j - 1] = aid[0]
    return action_id, role_id

  def _collect_detections_for_image(self, dets, image_id):
    agents = np.empty((0, 4 + self.num_actions), dtype=np.float32)
    roles = np.empty((0, 5 * self.num_actions, 2), dtype=np.float32)
    for det in dets:
      if det['image_id'] == image_id:
        this_agent = np.zeros((1, 4 + self.num_actions), dtype=np.float32)
        this_role  = np.zeros((1, 5 * self.num_actions, 2), dtype=np.float32)
        this_agent[0, :4] = det['person_box']
        for aid in range(self.num_actions):
          for j, rid in enumerate(self.roles[aid]):
            if rid == 'agent':
              this_agent[0, 4 + aid] = det[self.actions[aid] + '_' + rid]
            else:
              this_role[0, 5 * aid: 5 * aid + 5, j-1] = det[self.actions[aid] + '_' + rid]
        agents = np.concatenate((agents, this_agent), axis=0)
        roles  = np.concatenate((roles, this_role), axis=0)
    return agents, roles

  def _do_eval(self, detections_file, ovr_thresh=0.5):
    vcocodb = self._get_vcocodb()
    agent = self._do_agent_eval(vcocodb, detections_file, ovr_thresh=ovr_thresh)
    s1 = self._do_role_eval(vcocodb, detections_file, ovr_thresh=ovr_thresh, eval_type='scenario_1')
    s2 = self._do_role_eval(vcocodb, detections_file, ovr_thresh=ovr_thresh, eval_type='scenario_2')
    return agent, s1, s2

  def _do_role_eval(self, vcocodb, detections_file, ovr_thresh=0.5, eval_type='scenario_1'):

    with open(detections_file, 'rb') as f:
      dets = pickle.load(f)

    tp = [[[] for r in range(2)] for a in range(self.num_actions)]
    fp = [[[] for r in range(2)] for a in range(self.num_actions)]
    sc = [[[] for r in range(2)] for a in range(self.num_actions)]

    npos = np.zeros((self.num_actions), dtype=np.float32)

    for i in range(len(vcocodb)):
      image_id = vcocodb[i]['id']
      gt_inds = np.where(vcocodb[i]['gt_classes'] == 1)[0]
      # person boxes
      gt_boxes = vcocodb[i]['boxes'][gt_inds]
      gt_actions = vcocodb[i]['gt_actions'][gt_inds]
      # some peorson instances don't have annotated actions
      # we ignore those instances
      ignore = np.any(gt_actions == -1, axis=1)
      assert np.all(gt_actions[np.where(ignore==True)[0]]==-1)

      for aid in range(self.num_actions):
        npos[aid] += np.sum(gt_actions[:, aid] == 1)

      pred_agents, pred_roles = self._collect_detections_for_image(dets, image_id)

      for aid in range(self.num_actions):
        if len(self.roles[aid])<2:
          # if action has no role, then no role AP computed
          continue

        for rid in range(len(self.roles[aid])-1):

          # keep track of detected instances for each action for each role
          covered = np.zeros((gt_boxes.shape[0]), dtype=bool)

          # get gt roles for action and role
          gt_role_inds = vcocodb[i]['gt_role_id'][gt_inds, aid, rid]
          gt_roles = -np.ones_like(gt_boxes)
          for j in range(gt_boxes.shape[0]):
            if gt_role_inds[j] > -1:
              gt_roles[j] = vcocodb[i]['boxes'][gt_role_inds[j]]

          agent_boxes = pred_agents[:, :4]
          role_boxes = pred_roles[:, 5 * aid: 5 * aid + 4, rid]
          agent_scores = pred_roles[:, 5 * aid + 4, rid]

          valid = np.where(np.isnan(agent_scores) == False)[0]
          agent_scores = agent_scores[valid]
          agent_boxes = agent_boxes[valid, :]
          role_boxes = role_boxes[valid, :]

          idx = agent_scores.argsort()[::-1]

          for j in idx:
            pred_box = agent_boxes[j, :]
            overlaps = get_overlap(gt_boxes, pred_box)

            # matching happens based on the person
            jmax = overlaps.argmax()
            ovmax = overlaps.max()

            # if matched with an instance with no annotations
            # continue
            if ignore[jmax]:
              continue

            # overlap between predicted role and gt role
            if np.all(gt_roles[jmax, :] == -1): # if no gt role
              if eval_type == 'scenario_1':
                if np.all(role_boxes[j, :] == 0.0) or np.all(np.isnan(role_boxes[j, :])):
                  # if no role is predicted, mark it as correct role overlap
                  ov_role = 1.0
                else:
                  # if a role is predicted, mark it as false
                  ov_role = 0.0
              elif eval_type == 'scenario_2':
                # if no gt role, role prediction is always correct, irrespective of the actual predition
                ov_role = 1.0
              else:
                raise ValueError('Unknown eval type')
            else:
              ov_role = get_overlap(gt_roles[jmax, :].reshape((1, 4)), role_boxes[j, :])

            is_true_action = (gt_actions[jmax, aid] == 1)
            sc[aid][rid].append(agent_scores[j])
            if is_true_action and (ovmax>=ovr_thresh) and (ov_role>=ovr_thresh):
              if covered[jmax]:
                fp[aid][rid].append(1)
                tp[aid][rid].append(0)
              else:
                fp[aid][rid].append(0)
                tp[aid][rid].append(1)
                covered[jmax] = True
            else:
              fp[aid][rid].append(1)
              tp[aid][rid].append(0)

    # compute ap for each action
    role_ap = np.zeros((self.num_actions, 2), dtype=np.float32)
    role_ap[:] = np.nan
    for aid in range(self.num_actions):
      if len(self.roles[aid])<2:
        continue
      for rid in range(len(self.roles[aid])-1):
        a_fp = np.array(fp[aid][rid], dtype=np.float32)
        a_tp = np.array(tp[aid][rid], dtype=np.float32)
        a_sc = np.array(sc[aid][rid], dtype=np.float32)
        # sort in descending score order
        idx = a_sc.argsort()[::-1]
        a_fp = a_fp[idx]
        a_tp = a_tp[idx]
        a_sc = a_sc[idx]

        a_fp = np.cumsum(a_fp)
        a_tp = np.cumsum(a_tp)
        rec = a_tp / float(npos[aid])
        #check
        assert(np.amax(rec) <= 1)
        prec = a_tp / np.maximum(a_tp + a_fp, np.finfo(np.float64).eps)
        role_ap[aid, rid] = voc_ap(rec, prec)

    return role_ap, npos

  def _do_agent_eval(self, vcocodb, detections_file, ovr_thresh=0.5):

    with open(detections_file, 'rb') as f:
      dets = pickle.load(f)

    tp = [[] for a in range(self.num_actions)]
    fp = [[] for a in range(self.num_actions)]
    sc = [[] for a in range(self.num_actions)]

    npos = np.zeros((self.num_actions), dtype=np.float32)

    for i in range(len(vcocodb)):
      image_id = vcocodb[i]['id']
      gt_inds = np.where(vcocodb[i]['gt_classes'] == 1)[0]
      # person boxes
      gt_boxes = vcocodb[i]['boxes'][gt_inds]
      gt_actions = vcocodb[i]['gt_actions'][gt_inds]
      # some peorson instances don't have annotated actions
      # we ignore those instances
      ignore = np.any(gt_actions == -1, axis=1)

      for aid in range(self.num_actions):
        npos[aid] += np.sum(gt_actions[:, aid] == 1)

      pred_agents, _ = self._collect_detections_for_image(dets, image_id)

      for aid in range(self.num_actions):

        # keep track of detected instances for each action
        covered = np.zeros((gt_boxes.shape[0]), dtype=bool)

        agent_scores = pred_agents[:, 4 + aid]
        agent_boxes = pred_agents[:, :4]
        # remove NaNs
        valid = np.where(np.isnan(agent_scores) == False)[0]
        agent_scores = agent_scores[valid]
        agent_boxes = agent_boxes[valid, :]

        # sort in descending order
        idx = agent_scores.argsort()[::-1]

        for j in idx:
          pred_box = agent_boxes[j, :]
          overlaps = get_overlap(gt_boxes, pred_box)

          jmax = overlaps.argmax()
          ovmax = overlaps.max()

          # if matched with an instance with no annotations
          # continue
          if ignore[jmax]:
            continue

          is_true_action = (gt_actions[jmax, aid] == 1)

          sc[aid].append(agent_scores[j])
          if is_true_action and (ovmax>=ovr_thresh):
            if covered[jmax]:
              fp[aid].append(1)
              tp[aid].append(0)
            else:
              fp[aid].append(0)
              tp[aid].append(1)
              covered[jmax] = True
          else:
            fp[aid].append(1)
            tp[aid].append(0)

    # compute ap for each action
    agent_ap = np.zeros((self.num_actions), dtype=np.float32)
    for aid in range(self.num_actions):

      a_fp = np.array(fp[aid], dtype=np.float32)
      a_tp = np.array(tp[aid], dtype=np.float32)
      a_sc = np.array(sc[aid], dtype=np.float32)
      # sort in descending score order
      idx = a_sc.argsort()[::-1]
      a_fp = a_fp[idx]
      a_tp = a_tp[idx]
      a_sc = a_sc[idx]

      a_fp = np.cumsum(a_fp)
      a_tp = np.cumsum(a_tp)
      rec = a_tp / float(npos[aid])
      #check
      assert(np.amax(rec) <= 1)
      prec = a_tp / np.maximum(a_tp + a_fp, np.finfo(np.float64).eps)
      agent_ap[aid] = voc_ap(rec, prec)

    return agent_ap, npos


def _load_vcoco(vcoco_file):
  with open(vcoco_file, 'r') as f:
    vsrl_data = json.load(f)
  for i in range(len(vsrl_data)):
    vsrl_data[i]['role_object_id'] = \
    np.array(vsrl_data[i]['role_object_id']).reshape((len(vsrl_data[i]['role_name']), -1)).T
    for j in ['ann_id', 'label', 'image_id']:
        vsrl_data[i][j] = np.array(vsrl_data[i][j]).reshape((-1, 1))
  return vsrl_data


def clip_xyxy_to_image(x1, y1, x2, y2, height, width):
  x1 = np.minimum(width - 1., np.maximum(0., x1))
  y1 = np.minimum(height - 1., np.maximum(0., y1))
  x2 = np.minimum(width - 1., np.maximum(0., x2))
  y2 = np.minimum(height - 1., np.maximum(0., y2))
  return x1, y1, x2, y2


def get_overlap(boxes, ref_box):
  ixmin = np.maximum(boxes[:, 0], ref_box[0])
  iymin = np.maximum(boxes[:, 1], ref_box[1])
  ixmax = np.minimum(boxes[:, 2], ref_box[2])
  iymax = np.minimum(boxes[:, 3], ref_box[3])
  iw = np.maximum(ixmax - ixmin + 1., 0.)
  ih = np.maximum(iymax - iymin + 1., 0.)
  inters = iw * ih

  # union
  uni = ((ref_box[2] - ref_box[0] + 1.) * (ref_box[3] - ref_box[1] + 1.) +
         (boxes[:, 2] - boxes[:, 0] + 1.) *
         (boxes[:, 3] - boxes[:, 1] + 1.) - inters)

  overlaps = inters / uni
  return overlaps


def voc_ap(rec, prec):
  """ ap = voc_ap(rec, prec)
  Compute VOC AP given precision and recall.
  [as defined in PASCAL VOC]
  """
  # correct AP calculation
  # first append sentinel values at the end
  mrec = np.concatenate(([0.], rec, [1.]))
  mpre = np.concatenate(([0.], prec, [0.]))

  # compute the precision envelope
  for i in range(mpre.size - 1, 0, -1):
      mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])

  # to calculate area under PR curve, look for points
  # where X axis (recall) changes value
  i = np.where(mrec[1:] != mrec[:-1])[0]

  # and sum (\Delta recall) * prec
  ap = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])
  return ap


def tin_means(role_ap):
  """TIN's two printed role averages: ``nanmean`` and "omitting the action point" (``role_ap[-3][0]``)."""
  return (np.nanmean(role_ap) * 100.00,
          (np.nanmean(role_ap) * 25 - role_ap[-3][0]) / 24 * 100.00)
